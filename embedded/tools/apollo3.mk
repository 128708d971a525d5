# Apollo3 image: the same application sources as the QEMU image, with the
# Apollo3 board layer and AmbiqSuite (not shipped here; see
# embedded/ports/apollo3/README.md).
#
#   make -f embedded/tools/Makefile apollo3 APP_SRCS="..." OUT_AXF=build/app.axf \
#        AMBIQSUITE_ROOT=/opt/AmbiqSuite_R2.5.1 AMBIQ_BOARD=apollo3_evb
#
# Defaults follow the AmbiqSuite R2.x tree (and SparkFun's AmbiqSuiteSDK);
# override AMBIQ_INCLUDES, AMBIQ_LIBS, AMBIQ_STARTUP, AMBIQ_LDSCRIPT or
# AMBIQ_UTIL_SRCS for other layouts.

include $(dir $(lastword $(MAKEFILE_LIST)))common.mk

ARM_PREFIX ?= arm-none-eabi-
ARM_CC := $(ARM_PREFIX)gcc
AMBIQ_BOARD ?= apollo3_evb
AMBIQ_PART ?= apollo3
AMBIQ_PART_DEFINE ?= AM_PART_APOLLO3

AMBIQ_INCLUDES ?= $(AMBIQSUITE_ROOT)/mcu/$(AMBIQ_PART) \
	$(AMBIQSUITE_ROOT)/CMSIS/AmbiqMicro/Include $(AMBIQSUITE_ROOT)/CMSIS/ARM/Include \
	$(AMBIQSUITE_ROOT)/devices $(AMBIQSUITE_ROOT)/utils $(AMBIQSUITE_ROOT)/boards/$(AMBIQ_BOARD)/bsp
AMBIQ_LIBS ?= $(AMBIQSUITE_ROOT)/boards/$(AMBIQ_BOARD)/bsp/gcc/bin/libam_bsp.a \
	$(AMBIQSUITE_ROOT)/mcu/$(AMBIQ_PART)/hal/gcc/bin/libam_hal.a
AMBIQ_UTIL_SRCS ?= $(AMBIQSUITE_ROOT)/utils/am_util_stdio.c $(AMBIQSUITE_ROOT)/utils/am_util_delay.c
AMBIQ_STARTUP ?= $(AMBIQSUITE_ROOT)/boards/$(AMBIQ_BOARD)/examples/hello_world/gcc/startup_gcc.c
AMBIQ_LDSCRIPT ?= $(AMBIQSUITE_ROOT)/boards/$(AMBIQ_BOARD)/examples/hello_world/gcc/hello_world.ld

EA_M4_FLAGS := -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb
# Our portable code keeps the strict C99 flags; the board file and AmbiqSuite
# use the SDK's dialect (its CMSIS device headers need anonymous unions).
EA_APOLLO3_STRICT_SRCS = $(APP_SRCS) $(EA_ROOT)/ports/ea_harness.c
EA_APOLLO3_SDK_SRCS = $(EA_ROOT)/ports/apollo3/ea_board_apollo3.c $(AMBIQ_UTIL_SRCS) $(AMBIQ_STARTUP)
EA_APOLLO3_SDK_FLAGS = -std=gnu99 -DEA_HAVE_AMBIQSUITE -D$(AMBIQ_PART_DEFINE) -Dgcc \
	$(addprefix -I,$(AMBIQ_INCLUDES))

ifdef OUT_AXF
$(OUT_AXF): $(APP_SRCS) $(EA_ROOT)/ports/ea_harness.c $(EA_ROOT)/ports/apollo3/ea_board_apollo3.c $(EA_APP_HEADERS)
ifndef AMBIQSUITE_ROOT
	$(error apollo3: set AMBIQSUITE_ROOT to your AmbiqSuite SDK (see embedded/ports/apollo3/README.md))
endif
	@mkdir -p $(dir $@)/obj
	cd $(dir $@)/obj && $(ARM_CC) $(EA_M4_FLAGS) $(EA_CSTD_FLAGS) $(EA_OPT) -ffunction-sections \
		-fdata-sections $(EA_APP_CPPFLAGS) -c $(abspath $(EA_APOLLO3_STRICT_SRCS))
	cd $(dir $@)/obj && $(ARM_CC) $(EA_M4_FLAGS) $(EA_OPT) -ffunction-sections -fdata-sections \
		$(EA_APP_CPPFLAGS) $(EA_APOLLO3_SDK_FLAGS) -c $(abspath $(EA_APOLLO3_SDK_SRCS))
	$(ARM_CC) $(EA_M4_FLAGS) $(dir $@)/obj/*.o -T$(AMBIQ_LDSCRIPT) -nostartfiles -Wl,--gc-sections \
		-Wl,--start-group $(AMBIQ_LIBS) -lm -lc -lgcc -Wl,--end-group --specs=nano.specs \
		--specs=nosys.specs -o $@
	$(ARM_PREFIX)objcopy -O binary $@ $(@:.axf=.bin)
endif
