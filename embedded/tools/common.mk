# Shared settings for every edge-affect C build; included by the other pieces.
#
# EA_ROOT     the embedded/ directory (default: the parent of this file)
# EA_OPT      optimisation level (default -O2)
# EA_WERROR   -Werror by default; set empty to keep warnings non-fatal

ifndef EA_ROOT
EA_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
endif

EA_OPT ?= -O2
EA_WERROR ?= -Werror
EA_CSTD_FLAGS := -std=c99 -Wall -Wextra -pedantic $(EA_WERROR)

# On-device preprocessing (frame + box -> model input)
EA_PREPROCESS_SRCS := $(EA_ROOT)/src/ea_preprocess.c
EA_INCLUDE_DIRS := $(EA_ROOT)/include $(EA_ROOT)/ports

# What an application passes in (all optional except the sources):
#   APP_SRCS      C sources of the application (runtime, model, ea_harness_run ...)
#   APP_INCLUDES  include directories
#   APP_DEFINES   preprocessor defines, without -D (NAME or NAME=VALUE)
EA_APP_CPPFLAGS = $(addprefix -I,$(APP_INCLUDES) $(EA_INCLUDE_DIRS)) $(addprefix -D,$(APP_DEFINES))
# Headers are prerequisites so that editing one rebuilds the image.
EA_APP_HEADERS = $(wildcard $(addsuffix /*.h,$(APP_INCLUDES) $(EA_INCLUDE_DIRS)))
