/*
 * QEMU TCG plugin: counts executed guest instructions, in total and between
 * two marker addresses (the harness's ea_marker_begin / ea_marker_end).
 *
 *   qemu-system-arm ... -plugin ./libinsn.so,begin=0x1234,end=0x1240,out=counts.txt
 *
 * Arguments (all optional, QEMU 7.2 key=value syntax):
 *   begin=ADDR  end=ADDR  guest addresses (hex or decimal) of the first
 *                         instruction of the two marker functions
 *   out=PATH              write the result there; without it the result goes
 *                         to QEMU's log, which shows only with `-d plugin`
 * Result, at exit:
 *   insn_total=<n> insn_marked=<m> regions=<k>
 *   region <i> <count>      one line per region, for the first 4096 regions
 * where insn_marked sums the instructions executed from each begin marker up
 * to the next end marker (k pairs). Every instruction gets an inline counter
 * increment, so counts are exact even when a block is left early (faults,
 * semihosting traps); the marker instructions get one callback each.
 *
 * Debian's QEMU 7.2 loads plugins but ships no qemu-plugin.h, so the few API
 * symbols used here are declared below, as that header (API version 1)
 * defines them.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the subset of QEMU's plugin API (include/qemu/qemu-plugin.h, v1) ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;

typedef struct qemu_info_t qemu_info_t; /* only ever passed by pointer here */
struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_outs(const char *string);

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv);
/* ------------------------------------------------------------------------- */

#define NO_ADDRESS UINT64_MAX
#define MAX_LISTED_REGIONS 4096

/* One emulated Cortex-M core: plain counters suffice (no concurrent vCPUs). */
static struct {
    uint64_t total;
    uint64_t marked;
    uint64_t regions;
    uint64_t region_start;
    bool in_region;
    uint64_t begin_addr;
    uint64_t end_addr;
    char out_path[4096];
    uint64_t region_counts[MAX_LISTED_REGIONS];
} counts = {0, 0, 0, 0, false, NO_ADDRESS, NO_ADDRESS, "", {0}};

static void on_begin(unsigned int vcpu_index, void *userdata) {
    (void)vcpu_index;
    (void)userdata;
    counts.region_start = counts.total;
    counts.in_region = true;
}

static void on_end(unsigned int vcpu_index, void *userdata) {
    (void)vcpu_index;
    (void)userdata;
    if (counts.in_region) {
        uint64_t n = counts.total - counts.region_start;
        if (counts.regions < MAX_LISTED_REGIONS) {
            counts.region_counts[counts.regions] = n;
        }
        counts.marked += n;
        counts.regions += 1;
        counts.in_region = false;
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    size_t n = qemu_plugin_tb_n_insns(tb);
    size_t i;
    (void)id;
    for (i = 0; i < n; ++i) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        /* Both markers read the counter at the same point relative to their
           own instruction's increment, so the difference is exact. */
        if (vaddr == counts.begin_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        if (vaddr == counts.end_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counts.total, 1);
    }
}

static void write_counts(FILE *f) {
    uint64_t i;
    fprintf(f, "insn_total=%" PRIu64 " insn_marked=%" PRIu64 " regions=%" PRIu64 "\n", counts.total,
            counts.marked, counts.regions);
    for (i = 0; i < counts.regions && i < MAX_LISTED_REGIONS; ++i) {
        fprintf(f, "region %" PRIu64 " %" PRIu64 "\n", i, counts.region_counts[i]);
    }
}

static void on_qemu_exit(qemu_plugin_id_t id, void *userdata) {
    char line[128];
    (void)id;
    (void)userdata;
    if (counts.out_path[0] != '\0') {
        FILE *f = fopen(counts.out_path, "w");
        if (f != NULL) {
            write_counts(f);
            fclose(f);
            return;
        }
        qemu_plugin_outs("qemu_insn_plugin: cannot write the out= file\n");
    }
    snprintf(line, sizeof line, "insn_total=%" PRIu64 " insn_marked=%" PRIu64 " regions=%" PRIu64 "\n",
             counts.total, counts.marked, counts.regions);
    qemu_plugin_outs(line);
}

static bool parse_address(const char *text, uint64_t *value) {
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 0);
    if (end == text || *end != '\0') {
        return false;
    }
    *value = (uint64_t)v;
    return true;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv) {
    int i;
    (void)info;
    for (i = 0; i < argc; ++i) {
        const char *arg = argv[i];
        bool ok;
        if (strncmp(arg, "begin=", 6) == 0) {
            ok = parse_address(arg + 6, &counts.begin_addr);
        } else if (strncmp(arg, "end=", 4) == 0) {
            ok = parse_address(arg + 4, &counts.end_addr);
        } else if (strncmp(arg, "out=", 4) == 0) {
            ok = strlen(arg + 4) < sizeof counts.out_path;
            if (ok) {
                strcpy(counts.out_path, arg + 4);
            }
        } else {
            ok = false;
        }
        if (!ok) {
            char message[256];
            snprintf(message, sizeof message,
                     "qemu_insn_plugin: bad argument '%s' (expected begin=ADDR, end=ADDR, out=PATH)\n", arg);
            qemu_plugin_outs(message);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
