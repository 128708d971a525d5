# Builds for the machine running the tools.
#
#   make -f embedded/tools/Makefile host    APP_SRCS="..." OUT_EXE=build/harness
#   make -f embedded/tools/Makefile hostlib APP_SRCS="..." OUT_SO=build/libea.so
#
# host     the harness executable (ports/host: stdout console)
# hostlib  a shared library of APP_SRCS alone, for calling from Python (ctypes)

include $(dir $(lastword $(MAKEFILE_LIST)))common.mk

HOST_CC ?= cc
EA_HOST_PORT_SRCS := $(EA_ROOT)/ports/ea_harness.c $(EA_ROOT)/ports/host/board.c
EA_HOST_CFLAGS = $(EA_CSTD_FLAGS) $(EA_OPT) $(EA_APP_CPPFLAGS)

ifdef OUT_EXE
$(OUT_EXE): $(APP_SRCS) $(EA_HOST_PORT_SRCS) $(EA_APP_HEADERS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(EA_HOST_CFLAGS) $(APP_SRCS) $(EA_HOST_PORT_SRCS) -o $@
endif

ifdef OUT_SO
$(OUT_SO): $(APP_SRCS) $(EA_APP_HEADERS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(EA_HOST_CFLAGS) -fPIC -shared $(APP_SRCS) -o $@
endif
