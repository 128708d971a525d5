# The QEMU instruction-count plugin (a host shared object).
#
#   make -f embedded/tools/Makefile plugin PLUGIN_SO=build/libea_insn.so

include $(dir $(lastword $(MAKEFILE_LIST)))common.mk

HOST_CC ?= cc
PLUGIN_SO ?= $(EA_ROOT)/tools/build/libea_insn.so
EA_PLUGIN_SRC := $(EA_ROOT)/tools/qemu_insn_plugin.c

$(PLUGIN_SO): $(EA_PLUGIN_SRC)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(EA_CSTD_FLAGS) -O2 -shared -fPIC -fvisibility=hidden $< -o $@
