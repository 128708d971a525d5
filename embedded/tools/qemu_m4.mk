# Cortex-M4F image for QEMU mps2-an386 (semihosting console and exit code).
#
#   make -f embedded/tools/Makefile qemu APP_SRCS="..." OUT_ELF=build/app.elf
#
# OUT_ELF        the image to build
# EA_STACK_SIZE  bytes reserved (and painted) for the stack, default 65536
# Run: qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
#        -semihosting-config enable=on,target=native -kernel $(OUT_ELF)

include $(dir $(lastword $(MAKEFILE_LIST)))common.mk

ARM_PREFIX ?= arm-none-eabi-
ARM_CC := $(ARM_PREFIX)gcc
EA_STACK_SIZE ?= 65536

# The Apollo3's core: Cortex-M4 with single-precision FPU, hard-float ABI.
EA_M4_FLAGS := -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb
EA_QEMU_PORT_DIR := $(EA_ROOT)/ports/qemu_mps2_an386
EA_QEMU_PORT_SRCS := $(EA_ROOT)/ports/ea_harness.c $(EA_QEMU_PORT_DIR)/startup.c $(EA_QEMU_PORT_DIR)/board.c
EA_QEMU_LDSCRIPT := $(EA_QEMU_PORT_DIR)/mps2_an386.ld
EA_QEMU_CFLAGS = $(EA_M4_FLAGS) $(EA_CSTD_FLAGS) $(EA_OPT) -g -ffunction-sections -fdata-sections \
	$(EA_APP_CPPFLAGS) -I$(EA_QEMU_PORT_DIR)
# rdimon: newlib with semihosting syscalls; our own startup replaces its crt0.
EA_QEMU_LDFLAGS = -T$(EA_QEMU_LDSCRIPT) --specs=rdimon.specs -nostartfiles -Wl,--gc-sections \
	-Wl,--defsym=EA_STACK_SIZE=$(EA_STACK_SIZE) -Wl,-Map=$(OUT_ELF:.elf=.map)

ifdef OUT_ELF
$(OUT_ELF): $(APP_SRCS) $(EA_QEMU_PORT_SRCS) $(EA_QEMU_LDSCRIPT) $(EA_APP_HEADERS)
	@mkdir -p $(dir $@)
	$(ARM_CC) $(EA_QEMU_CFLAGS) $(APP_SRCS) $(EA_QEMU_PORT_SRCS) $(EA_QEMU_LDFLAGS) -o $@
endif
