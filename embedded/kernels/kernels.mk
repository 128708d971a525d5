# The int8 kernel library, for inclusion by any build (host harness, QEMU
# image, bundle Makefiles):
#   EA_KERNEL_SRCS          every kernel source (both sets; the optimized
#                           dispatch table also uses reference kernels)
#   EA_KERNEL_INCLUDE_DIRS  public headers (embedded/include) + internal ones
EA_KERNELS_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
EA_KERNEL_REF_SRCS := $(sort $(wildcard $(EA_KERNELS_DIR)/reference/*.c))
EA_KERNEL_OPT_SRCS := $(sort $(wildcard $(EA_KERNELS_DIR)/optimized/*.c))
EA_KERNEL_SRCS := $(EA_KERNEL_REF_SRCS) $(EA_KERNEL_OPT_SRCS)
EA_KERNEL_INCLUDE_DIRS := $(abspath $(EA_KERNELS_DIR)/../include) $(EA_KERNELS_DIR)
EA_KERNEL_HEADERS := $(wildcard $(addsuffix /*.h,$(EA_KERNEL_INCLUDE_DIRS) $(EA_KERNELS_DIR)/optimized))
