/*
 * GpuDaemon test stand-ins: the scenario both stand-in libraries read.
 *
 * The scenario is a file of "key = value" lines named standin-scenario.txt in the folder the
 * library was loaded from, so every copy of a stand-in reads its own. See docs/nvml.md.
 */
#ifndef GPUDAEMON_STANDIN_SCENARIO_H
#define GPUDAEMON_STANDIN_SCENARIO_H

#include <stddef.h>

#define SI_HIDDEN __attribute__((visibility("hidden")))
#define SI_EXPORT __attribute__((visibility("default")))

#define SI_MAX_GPUS 16
#define SI_MAX_MIG 8
#define SI_MAX_LINKS 12
#define SI_MAX_FAILS 64
#define SI_MAX_XIDS 8
#define SI_LINK_TO_SWITCH (-1)
#define SI_SCENARIO_FILE "standin-scenario.txt"

typedef struct {
    char profile[32];
    unsigned long long memory_mib;
} si_mig_instance;

typedef struct {
    char name[96];
    char uuid[96];
    char pci[32];
    unsigned minor;
    unsigned long long memory_total_mib;
    unsigned long long memory_used_mib;
    unsigned long long memory_reserved_mib;
    unsigned util_gpu, util_memory, util_encoder, util_decoder;
    unsigned temperature_c, power_mw, clock_sm_mhz, clock_mem_mhz;
    unsigned long long energy_mj;
    unsigned pcie_replay;
    unsigned long long ecc_corrected, ecc_uncorrected;
    unsigned remapped_correctable, remapped_uncorrectable;
    int nvlink[SI_MAX_LINKS]; /* peer GPU index, or SI_LINK_TO_SWITCH */
    int nvlink_count;
    int mig_mode; /* -1 not capable, 0 off, 1 on */
    si_mig_instance mig[SI_MAX_MIG];
    int mig_count;
    unsigned xid[SI_MAX_XIDS];
    int xid_count;
    int lost;
    int cc_major, cc_minor;
    /* validation: what CUDA sees differently, and signs of a degraded GPU */
    char cuda_uuid[96]; /* empty: the same as uuid */
    int kernel_wrong_data;
    unsigned pcie_gen, pcie_gen_max, pcie_width, pcie_width_max;
    int remapped_pending, remapped_failed, retired_pages_pending;
    unsigned long long clock_event_reasons;
    unsigned memory_temp_c; /* 0: no memory sensor (the field answers NOT_SUPPORTED) */
    int gpm; /* GPU Performance Monitoring supported (Hopper and later) */
    unsigned gpm_graphics_pct, gpm_tensor_pct, gpm_dram_pct;
    unsigned compute_mode; /* nvmlComputeMode_t: 0 default, 2 prohibited, 3 exclusive process */
    unsigned compute_processes; /* compute processes running on the GPU */
} si_gpu;

typedef struct {
    int gpu; /* -1: every GPU and system-wide calls */
    char function[64];
    int code;
} si_fail;

typedef struct {
    char driver_version[80];
    char nvml_version[80];
    int cuda_version;
    int gpu_count;
    si_gpu gpus[SI_MAX_GPUS];
    si_fail fails[SI_MAX_FAILS];
    int fail_count;
} si_scenario;

/* Fills *s from the scenario file next to the library containing `anchor`; defaults when absent.
   Returns 0, or -1 with a reason on stderr. */
SI_HIDDEN int si_load(si_scenario *s, const void *anchor);

/* The code the scenario makes `function` return for `gpu` (or system-wide when gpu is -1), else 0. */
SI_HIDDEN int si_fail_code(const si_scenario *s, int gpu, const char *function);

/* Parses "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes; returns 0 when it has 32 hex digits. */
SI_HIDDEN int si_uuid_bytes(const char *uuid, unsigned char out[16]);

#endif
