/*
 * GpuDaemon test stand-in for libnvidia-ml.so.1: exports the NVML entry points GpuDaemon calls,
 * answers them from standin-scenario.txt, and delivers health events on request.
 * Types and constants follow the public NVML API; the behaviour is a small model, not a driver.
 */
#define _GNU_SOURCE
#include "standin_scenario.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int nvmlReturn_t;
enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_UNKNOWN = 999,
};

#define EVENT_SINGLE_BIT_ECC 0x1ULL
#define EVENT_DOUBLE_BIT_ECC 0x2ULL
#define EVENT_PSTATE 0x4ULL
#define EVENT_XID 0x8ULL
#define EVENT_CLOCK 0x10ULL
#define SUPPORTED_EVENTS (EVENT_SINGLE_BIT_ECC | EVENT_DOUBLE_BIT_ECC | EVENT_PSTATE | EVENT_XID | EVENT_CLOCK)
#define STANDIN_MAX_LINKS 18
#define SWITCH_BUS_ID "00000000:C1:00.0"

typedef struct {
    char bus_id_legacy[16];
    unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
    char bus_id[32];
} pci_info_t;

typedef struct {
    unsigned long long total, free, used;
} memory_v1_t;

typedef struct {
    unsigned version;
    unsigned long long total, reserved, free, used;
} memory_v2_t;

typedef struct {
    unsigned gpu, memory;
} utilization_t;

typedef struct standin_device standin_device;

typedef struct {
    standin_device *device;
    unsigned long long type;
    unsigned long long data;
    unsigned gpu_instance, compute_instance;
} event_data_t;

struct standin_device {
    int gpu;
    int mig; /* -1 for the whole GPU */
};

#define QUEUE_LENGTH 64
typedef struct event_set {
    int in_use;
    unsigned long long registered[SI_MAX_GPUS];
    int xids_queued[SI_MAX_GPUS];
    struct { int gpu; unsigned long long type, data; } queue[QUEUE_LENGTH];
    int head, count;
    pthread_cond_t ready;
} event_set;

#define MAX_EVENT_SETS 8
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static si_scenario g_scenario;
static int g_init_count;
static int g_lost[SI_MAX_GPUS];
static standin_device g_devices[SI_MAX_GPUS];
static standin_device g_mig_devices[SI_MAX_GPUS][SI_MAX_MIG];
static event_set g_sets[MAX_EVENT_SETS];

/* A hung driver call, on request: nvmlDeviceGetTemperature (the health check) blocks until released. */
static pthread_mutex_t g_hang_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_hang_released = PTHREAD_COND_INITIALIZER;
static int g_hang[SI_MAX_GPUS];
static int g_hung_calls[SI_MAX_GPUS];

static void hang_if_asked(int gpu)
{
    pthread_mutex_lock(&g_hang_lock);
    if (g_hang[gpu]) {
        g_hung_calls[gpu]++;
        while (g_hang[gpu]) pthread_cond_wait(&g_hang_released, &g_hang_lock);
        g_hung_calls[gpu]--;
    }
    pthread_mutex_unlock(&g_hang_lock);
}

static int initialized(void)
{
    pthread_mutex_lock(&g_lock);
    int count = g_init_count;
    pthread_mutex_unlock(&g_lock);
    return count > 0;
}

static int is_lost(int gpu)
{
    return __atomic_load_n(&g_lost[gpu], __ATOMIC_SEQ_CST);
}

static standin_device *as_device(void *handle)
{
    standin_device *d = handle;
    for (int i = 0; i < SI_MAX_GPUS; i++) {
        if (d == &g_devices[i]) return i < g_scenario.gpu_count ? d : NULL;
        for (int m = 0; m < SI_MAX_MIG; m++) {
            if (d == &g_mig_devices[i][m]) return d;
        }
    }
    return NULL;
}

/* Every device entry point starts with the same checks, in the order a driver would make them. */
#define DEVICE_ENTRY(handle)                                                  \
    if (!initialized()) return NVML_ERROR_UNINITIALIZED;                      \
    standin_device *d = as_device(handle);                                    \
    if (d == NULL) return NVML_ERROR_INVALID_ARGUMENT;                        \
    if (is_lost(d->gpu)) return NVML_ERROR_GPU_IS_LOST;                       \
    {                                                                         \
        int failure = si_fail_code(&g_scenario, d->gpu, __func__);            \
        if (failure) return failure;                                          \
    }                                                                         \
    const si_gpu *g = &g_scenario.gpus[d->gpu];                               \
    (void)g

#define SYSTEM_ENTRY()                                                        \
    if (!initialized()) return NVML_ERROR_UNINITIALIZED;                      \
    {                                                                         \
        int failure = si_fail_code(&g_scenario, -1, __func__);                \
        if (failure) return failure;                                          \
    }

static nvmlReturn_t copy_text(char *buffer, unsigned length, const char *text)
{
    if (buffer == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(text) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(buffer, text, strlen(text) + 1);
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlInit_v2(void)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t result = NVML_SUCCESS;
    if (g_init_count == 0) {
        if (si_load(&g_scenario, (const void *)&nvmlInit_v2) != 0) {
            result = NVML_ERROR_UNKNOWN;
        } else if ((result = si_fail_code(&g_scenario, -1, __func__)) == 0) {
            for (int i = 0; i < SI_MAX_GPUS; i++) {
                g_devices[i].gpu = i;
                g_devices[i].mig = -1;
                __atomic_store_n(&g_lost[i], g_scenario.gpus[i].lost, __ATOMIC_SEQ_CST);
                for (int m = 0; m < SI_MAX_MIG; m++) {
                    g_mig_devices[i][m].gpu = i;
                    g_mig_devices[i][m].mig = m;
                }
            }
        }
    }
    if (result == NVML_SUCCESS) g_init_count++;
    pthread_mutex_unlock(&g_lock);
    return result;
}

SI_EXPORT nvmlReturn_t nvmlShutdown(void)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t result = g_init_count > 0 ? NVML_SUCCESS : NVML_ERROR_UNINITIALIZED;
    if (g_init_count > 0) g_init_count--;
    pthread_mutex_unlock(&g_lock);
    return result;
}

SI_EXPORT const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 6: return "Not Found";
    case 7: return "Insufficient Size";
    case 9: return "Driver Not Loaded";
    case 10: return "Timeout";
    case 15: return "GPU is lost";
    case 18: return "RM has detected an NVML/RM version mismatch.";
    case 25: return "Argument version mismatch";
    default: return "Unknown Error";
    }
}

SI_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned length)
{
    SYSTEM_ENTRY();
    return copy_text(version, length, g_scenario.driver_version);
}

SI_EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned length)
{
    SYSTEM_ENTRY();
    return copy_text(version, length, g_scenario.nvml_version);
}

SI_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *version)
{
    SYSTEM_ENTRY();
    if (version == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *version = g_scenario.cuda_version;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *count)
{
    SYSTEM_ENTRY();
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *count = (unsigned)g_scenario.gpu_count;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned index, standin_device **device)
{
    SYSTEM_ENTRY();
    if (device == NULL || index >= (unsigned)g_scenario.gpu_count) return NVML_ERROR_INVALID_ARGUMENT;
    int failure = si_fail_code(&g_scenario, (int)index, __func__);
    if (failure) return failure;
    *device = &g_devices[index];
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetName(void *device, char *name, unsigned length)
{
    DEVICE_ENTRY(device);
    if (d->mig < 0) return copy_text(name, length, g->name);
    char text[160];
    snprintf(text, sizeof(text), "%s MIG %s", g->name, g->mig[d->mig].profile);
    return copy_text(name, length, text);
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetUUID(void *device, char *uuid, unsigned length)
{
    DEVICE_ENTRY(device);
    if (d->mig < 0) return copy_text(uuid, length, g->uuid);
    char text[96];
    snprintf(text, sizeof(text), "MIG-5eed%04x-0000-4000-8000-%012x", d->gpu, d->mig + 1);
    return copy_text(uuid, length, text);
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetMinorNumber(void *device, unsigned *minor)
{
    DEVICE_ENTRY(device);
    if (minor == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *minor = g->minor;
    return NVML_SUCCESS;
}

static nvmlReturn_t fill_pci(const char *bus_id, pci_info_t *pci)
{
    unsigned domain, bus, dev, function;
    if (sscanf(bus_id, "%x:%x:%x.%x", &domain, &bus, &dev, &function) != 4) return NVML_ERROR_UNKNOWN;
    memset(pci, 0, sizeof(*pci));
    pci->domain = domain;
    pci->bus = bus;
    pci->device = dev;
    pci->pci_device_id = 0x233010DE;
    pci->pci_subsystem_id = 0x16C110DE;
    snprintf(pci->bus_id, sizeof(pci->bus_id), "%08X:%02X:%02X.%X", domain, bus, dev, function);
    snprintf(pci->bus_id_legacy, sizeof(pci->bus_id_legacy), "%04X:%02X:%02X.%X", domain & 0xFFFF, bus, dev, function);
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(void *device, pci_info_t *pci)
{
    DEVICE_ENTRY(device);
    if (pci == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    return fill_pci(g->pci, pci);
}

static void memory_of(const standin_device *d, unsigned long long *total, unsigned long long *used, unsigned long long *reserved)
{
    const si_gpu *g = &g_scenario.gpus[d->gpu];
    const unsigned long long mib = 1024ULL * 1024ULL;
    if (d->mig >= 0) {
        *total = g->mig[d->mig].memory_mib * mib;
        *used = 0;
        *reserved = 0;
        return;
    }
    *total = g->memory_total_mib * mib;
    *used = g->memory_used_mib * mib;
    *reserved = g->memory_reserved_mib * mib;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(void *device, memory_v1_t *memory)
{
    DEVICE_ENTRY(device);
    if (memory == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    unsigned long long total, used, reserved;
    memory_of(d, &total, &used, &reserved);
    /* The first version counts reserved memory as used. */
    memory->total = total;
    memory->used = used + reserved;
    memory->free = total - used - reserved;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(void *device, memory_v2_t *memory)
{
    DEVICE_ENTRY(device);
    if (memory == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (memory->version != ((unsigned)sizeof(memory_v2_t) | (2U << 24))) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    unsigned long long total, used, reserved;
    memory_of(d, &total, &used, &reserved);
    memory->total = total;
    memory->reserved = reserved;
    memory->used = used;
    memory->free = total - used - reserved;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(void *device, utilization_t *utilization)
{
    DEVICE_ENTRY(device);
    if (utilization == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    utilization->gpu = g->util_gpu;
    utilization->memory = g->util_memory;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetEncoderUtilization(void *device, unsigned *utilization, unsigned *period_us)
{
    DEVICE_ENTRY(device);
    if (utilization == NULL || period_us == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *utilization = g->util_encoder;
    *period_us = 167000;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetDecoderUtilization(void *device, unsigned *utilization, unsigned *period_us)
{
    DEVICE_ENTRY(device);
    if (utilization == NULL || period_us == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *utilization = g->util_decoder;
    *period_us = 167000;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetTemperature(void *device, int sensor, unsigned *celsius)
{
    DEVICE_ENTRY(device);
    if (celsius == NULL || sensor != 0) return NVML_ERROR_INVALID_ARGUMENT;
    hang_if_asked(d->gpu);
    *celsius = g->temperature_c;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(void *device, unsigned *milliwatts)
{
    DEVICE_ENTRY(device);
    if (milliwatts == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *milliwatts = g->power_mw;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(void *device, int clock, unsigned *mhz)
{
    DEVICE_ENTRY(device);
    if (mhz == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (clock == 1) *mhz = g->clock_sm_mhz;
    else if (clock == 2) *mhz = g->clock_mem_mhz;
    else return NVML_ERROR_INVALID_ARGUMENT;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(void *device, unsigned long long *millijoules)
{
    DEVICE_ENTRY(device);
    if (millijoules == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *millijoules = g->energy_mj;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetPcieReplayCounter(void *device, unsigned *count)
{
    DEVICE_ENTRY(device);
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *count = g->pcie_replay;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(void *device, int error_type, int counter_type, unsigned long long *count)
{
    DEVICE_ENTRY(device);
    if (count == NULL || counter_type != 0) return NVML_ERROR_INVALID_ARGUMENT;
    if (error_type == 0) *count = g->ecc_corrected;
    else if (error_type == 1) *count = g->ecc_uncorrected;
    else return NVML_ERROR_INVALID_ARGUMENT;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetRemappedRows(void *device, unsigned *correctable, unsigned *uncorrectable, unsigned *pending, unsigned *failed)
{
    DEVICE_ENTRY(device);
    if (!correctable || !uncorrectable || !pending || !failed) return NVML_ERROR_INVALID_ARGUMENT;
    *correctable = g->remapped_correctable;
    *uncorrectable = g->remapped_uncorrectable;
    *pending = (unsigned)g->remapped_pending;
    *failed = (unsigned)g->remapped_failed;
    return NVML_SUCCESS;
}

#define DEVICE_UINT_GETTER(function, field)                  \
    SI_EXPORT nvmlReturn_t function(void *device, unsigned *out) \
    {                                                        \
        DEVICE_ENTRY(device);                                \
        if (out == NULL) return NVML_ERROR_INVALID_ARGUMENT; \
        *out = g->field;                                     \
        return NVML_SUCCESS;                                 \
    }

DEVICE_UINT_GETTER(nvmlDeviceGetCurrPcieLinkGeneration, pcie_gen)
DEVICE_UINT_GETTER(nvmlDeviceGetMaxPcieLinkGeneration, pcie_gen_max)
DEVICE_UINT_GETTER(nvmlDeviceGetCurrPcieLinkWidth, pcie_width)
DEVICE_UINT_GETTER(nvmlDeviceGetMaxPcieLinkWidth, pcie_width_max)

SI_EXPORT nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(void *device, int *pending)
{
    DEVICE_ENTRY(device);
    if (pending == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *pending = g->retired_pages_pending ? 1 : 0;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(void *device, unsigned long long *reasons)
{
    DEVICE_ENTRY(device);
    if (reasons == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *reasons = g->clock_event_reasons;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetComputeMode(void *device, int *mode)
{
    DEVICE_ENTRY(device);
    if (mode == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *mode = (int)g->compute_mode;
    return NVML_SUCCESS;
}

/* nvmlProcessInfo_t as the third version lays it out: pid, used memory, GPU and compute instance ids. */
typedef struct {
    unsigned pid;
    unsigned long long used_gpu_memory;
    unsigned gpu_instance_id, compute_instance_id;
} process_info_v3_t;

/* Answers the count with INSUFFICIENT_SIZE when the buffer is too small, as NVML does. */
SI_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(void *device, unsigned *count, process_info_v3_t *infos)
{
    DEVICE_ENTRY(device);
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    unsigned running = g->compute_processes;
    if (*count < running || (running > 0 && infos == NULL)) {
        *count = running;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    for (unsigned i = 0; i < running; i++) {
        infos[i].pid = 4000 + i;
        infos[i].used_gpu_memory = 1ULL << 30;
        infos[i].gpu_instance_id = infos[i].compute_instance_id = 0xFFFFFFFFu;
    }
    *count = running;
    return NVML_SUCCESS;
}

/* The older name of the same call; a scenario that fails the newer one (code 13) makes callers fall back here. */
SI_EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(void *device, unsigned long long *reasons)
{
    DEVICE_ENTRY(device);
    if (reasons == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *reasons = g->clock_event_reasons;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkState(void *device, unsigned link, int *active)
{
    DEVICE_ENTRY(device);
    if (active == NULL || link >= STANDIN_MAX_LINKS) return NVML_ERROR_INVALID_ARGUMENT;
    if (g->nvlink_count == 0) return NVML_ERROR_NOT_SUPPORTED;
    *active = link < (unsigned)g->nvlink_count ? 1 : 0;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(void *device, unsigned link, pci_info_t *pci)
{
    DEVICE_ENTRY(device);
    if (pci == NULL || link >= STANDIN_MAX_LINKS) return NVML_ERROR_INVALID_ARGUMENT;
    if (g->nvlink_count == 0) return NVML_ERROR_NOT_SUPPORTED;
    if (link >= (unsigned)g->nvlink_count) return NVML_ERROR_NOT_FOUND;
    int peer = g->nvlink[link];
    return fill_pci(peer == SI_LINK_TO_SWITCH ? SWITCH_BUS_ID : g_scenario.gpus[peer].pci, pci);
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetMigMode(void *device, unsigned *current, unsigned *pending)
{
    DEVICE_ENTRY(device);
    if (current == NULL || pending == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (g->mig_mode < 0 || d->mig >= 0) return NVML_ERROR_NOT_SUPPORTED;
    *current = (unsigned)g->mig_mode;
    *pending = (unsigned)g->mig_mode;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(void *device, unsigned *count)
{
    DEVICE_ENTRY(device);
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (g->mig_mode < 0) return NVML_ERROR_NOT_SUPPORTED;
    *count = 7;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(void *device, unsigned index, standin_device **mig)
{
    DEVICE_ENTRY(device);
    if (mig == NULL || d->mig >= 0) return NVML_ERROR_INVALID_ARGUMENT;
    if (g->mig_mode != 1 || index >= (unsigned)g->mig_count) return NVML_ERROR_NOT_FOUND;
    *mig = &g_mig_devices[d->gpu][index];
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceId(void *device, unsigned *id)
{
    DEVICE_ENTRY(device);
    if (id == NULL || d->mig < 0) return NVML_ERROR_INVALID_ARGUMENT;
    *id = (unsigned)d->mig + 1;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetComputeInstanceId(void *device, unsigned *id)
{
    DEVICE_ENTRY(device);
    if (id == NULL || d->mig < 0) return NVML_ERROR_INVALID_ARGUMENT;
    *id = 0;
    return NVML_SUCCESS;
}

/* ---- events ---- */

static event_set *as_set(void *handle)
{
    event_set *s = handle;
    for (int i = 0; i < MAX_EVENT_SETS; i++) {
        if (s == &g_sets[i] && s->in_use) return s;
    }
    return NULL;
}

/* Called with g_lock held. */
static void enqueue(event_set *s, int gpu, unsigned long long type, unsigned long long data)
{
    if (s->count == QUEUE_LENGTH) return;
    int slot = (s->head + s->count) % QUEUE_LENGTH;
    s->queue[slot].gpu = gpu;
    s->queue[slot].type = type;
    s->queue[slot].data = data;
    s->count++;
    pthread_cond_broadcast(&s->ready);
}

SI_EXPORT nvmlReturn_t nvmlEventSetCreate(event_set **set)
{
    SYSTEM_ENTRY();
    if (set == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < MAX_EVENT_SETS; i++) {
        if (!g_sets[i].in_use) {
            memset(&g_sets[i], 0, sizeof(g_sets[i]));
            g_sets[i].in_use = 1;
            pthread_condattr_t attributes;
            pthread_condattr_init(&attributes);
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
            pthread_cond_init(&g_sets[i].ready, &attributes);
            pthread_condattr_destroy(&attributes);
            *set = &g_sets[i];
            pthread_mutex_unlock(&g_lock);
            return NVML_SUCCESS;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return NVML_ERROR_UNKNOWN;
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetSupportedEventTypes(void *device, unsigned long long *types)
{
    DEVICE_ENTRY(device);
    if (types == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *types = SUPPORTED_EVENTS;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(void *device, unsigned long long types, event_set *set)
{
    DEVICE_ENTRY(device);
    if ((types & ~SUPPORTED_EVENTS) != 0) return NVML_ERROR_NOT_SUPPORTED;
    pthread_mutex_lock(&g_lock);
    event_set *s = as_set(set);
    if (s == NULL) {
        pthread_mutex_unlock(&g_lock);
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    s->registered[d->gpu] |= types;
    if ((types & EVENT_XID) && !s->xids_queued[d->gpu]) {
        s->xids_queued[d->gpu] = 1;
        for (int i = 0; i < g->xid_count; i++) enqueue(s, d->gpu, EVENT_XID, g->xid[i]);
    }
    pthread_mutex_unlock(&g_lock);
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlEventSetWait_v2(event_set *set, event_data_t *data, unsigned timeout_ms)
{
    SYSTEM_ENTRY();
    if (data == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g_lock);
    event_set *s = as_set(set);
    if (s == NULL) {
        pthread_mutex_unlock(&g_lock);
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    int waited = 0;
    while (s->count == 0 && waited != ETIMEDOUT) {
        waited = pthread_cond_timedwait(&s->ready, &g_lock, &deadline);
    }
    if (s->count == 0) {
        pthread_mutex_unlock(&g_lock);
        return NVML_ERROR_TIMEOUT;
    }
    int gpu = s->queue[s->head].gpu;
    data->device = &g_devices[gpu];
    data->type = s->queue[s->head].type;
    data->data = s->queue[s->head].data;
    data->gpu_instance = 0xFFFFFFFFU;
    data->compute_instance = 0xFFFFFFFFU;
    s->head = (s->head + 1) % QUEUE_LENGTH;
    s->count--;
    pthread_mutex_unlock(&g_lock);
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlEventSetFree(event_set *set)
{
    pthread_mutex_lock(&g_lock);
    event_set *s = as_set(set);
    if (s == NULL) {
        pthread_mutex_unlock(&g_lock);
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    s->in_use = 0;
    pthread_cond_destroy(&s->ready);
    pthread_mutex_unlock(&g_lock);
    return NVML_SUCCESS;
}

/* ---- controls for tests; not part of NVML ---- */

/* Delivers an event to every event set that registered it for this GPU. Returns how many took it. */
SI_EXPORT int standin_raise_event(int gpu, unsigned long long type, unsigned long long data)
{
    if (gpu < 0 || gpu >= SI_MAX_GPUS) return -1;
    int delivered = 0;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < MAX_EVENT_SETS; i++) {
        if (g_sets[i].in_use && (g_sets[i].registered[gpu] & type)) {
            enqueue(&g_sets[i], gpu, type, data);
            delivered++;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return delivered;
}

/* From now on every call about this GPU answers NVML_ERROR_GPU_IS_LOST (0 restores it). */
SI_EXPORT void standin_set_lost(int gpu, int lost)
{
    if (gpu >= 0 && gpu < SI_MAX_GPUS) __atomic_store_n(&g_lost[gpu], lost, __ATOMIC_SEQ_CST);
}

/* From now on nvmlDeviceGetTemperature for this GPU blocks until this is called again with 0. */
SI_EXPORT void standin_set_temperature_hang(int gpu, int hang)
{
    if (gpu < 0 || gpu >= SI_MAX_GPUS) return;
    pthread_mutex_lock(&g_hang_lock);
    g_hang[gpu] = hang;
    if (!hang) pthread_cond_broadcast(&g_hang_released);
    pthread_mutex_unlock(&g_hang_lock);
}

/* Calls blocked in nvmlDeviceGetTemperature for this GPU right now. */
SI_EXPORT int standin_hung_calls(int gpu)
{
    if (gpu < 0 || gpu >= SI_MAX_GPUS) return -1;
    pthread_mutex_lock(&g_hang_lock);
    int count = g_hung_calls[gpu];
    pthread_mutex_unlock(&g_hang_lock);
    return count;
}

SI_EXPORT int standin_init_count(void)
{
    pthread_mutex_lock(&g_lock);
    int count = g_init_count;
    pthread_mutex_unlock(&g_lock);
    return count;
}

SI_EXPORT int standin_event_set_count(void)
{
    pthread_mutex_lock(&g_lock);
    int count = 0;
    for (int i = 0; i < MAX_EVENT_SETS; i++) count += g_sets[i].in_use;
    pthread_mutex_unlock(&g_lock);
    return count;
}

/* How many sets have something registered for this GPU: lets a test wait until the watch is live. */
SI_EXPORT int standin_registered_sets(int gpu)
{
    if (gpu < 0 || gpu >= SI_MAX_GPUS) return -1;
    pthread_mutex_lock(&g_lock);
    int count = 0;
    for (int i = 0; i < MAX_EVENT_SETS; i++) count += g_sets[i].in_use && g_sets[i].registered[gpu] != 0;
    pthread_mutex_unlock(&g_lock);
    return count;
}

/* Field values: only the memory temperature (NVML_FI_DEV_MEMORY_TEMP, 82). Layout of nvmlFieldValue_t. */
typedef struct {
    unsigned field_id;
    unsigned scope_id;
    long long timestamp;
    long long latency_usec;
    int value_type;
    int nvml_return;
    union { double d; unsigned ui; unsigned long ul; unsigned long long ull; long long sll; } value;
} standin_field_value;

SI_EXPORT nvmlReturn_t nvmlDeviceGetFieldValues(void *device, int count, standin_field_value *values)
{
    DEVICE_ENTRY(device);
    if (values == NULL || count < 0) return NVML_ERROR_INVALID_ARGUMENT;
    for (int i = 0; i < count; i++) {
        values[i].timestamp = 0;
        values[i].latency_usec = 0;
        if (values[i].field_id == 82 && g->memory_temp_c != 0) {
            values[i].value_type = 1; /* unsigned int */
            values[i].value.ui = g->memory_temp_c;
            values[i].nvml_return = NVML_SUCCESS;
        } else {
            values[i].nvml_return = NVML_ERROR_NOT_SUPPORTED;
        }
    }
    return NVML_SUCCESS;
}

/* GPU Performance Monitoring: samples are heap blocks naming their GPU; metrics come from the scenario. */
typedef struct {
    int gpu;
    int taken;
} standin_gpm_sample;

typedef struct {
    unsigned metric_id;
    int nvml_return;
    double value;
    char *short_name, *long_name, *unit;
} standin_gpm_metric;

typedef struct {
    unsigned version;
    unsigned num_metrics;
    standin_gpm_sample *sample1;
    standin_gpm_sample *sample2;
    standin_gpm_metric metrics[98];
} standin_gpm_metrics_get;

static int g_gpm_samples;

SI_EXPORT nvmlReturn_t nvmlGpmQueryDeviceSupport(void *device, unsigned *support)
{
    DEVICE_ENTRY(device);
    if (support == NULL || support[0] != 1) return NVML_ERROR_INVALID_ARGUMENT;
    support[1] = g->gpm ? 1 : 0;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlGpmSampleAlloc(standin_gpm_sample **sample)
{
    if (!initialized()) return NVML_ERROR_UNINITIALIZED;
    if (sample == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *sample = calloc(1, sizeof(standin_gpm_sample));
    if (*sample == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    __atomic_add_fetch(&g_gpm_samples, 1, __ATOMIC_SEQ_CST);
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlGpmSampleFree(standin_gpm_sample *sample)
{
    if (sample == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    free(sample);
    __atomic_sub_fetch(&g_gpm_samples, 1, __ATOMIC_SEQ_CST);
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlGpmSampleGet(void *device, standin_gpm_sample *sample)
{
    DEVICE_ENTRY(device);
    if (sample == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!g->gpm) return NVML_ERROR_NOT_SUPPORTED;
    sample->gpu = d->gpu;
    sample->taken = 1;
    return NVML_SUCCESS;
}

SI_EXPORT nvmlReturn_t nvmlGpmMetricsGet(standin_gpm_metrics_get *get)
{
    if (!initialized()) return NVML_ERROR_UNINITIALIZED;
    if (get == NULL || get->version != 1 || get->num_metrics > 98 || get->sample1 == NULL || get->sample2 == NULL
        || get->sample1 == get->sample2 || !get->sample1->taken || !get->sample2->taken || get->sample1->gpu != get->sample2->gpu) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    const si_gpu *g = &g_scenario.gpus[get->sample1->gpu];
    for (unsigned i = 0; i < get->num_metrics; i++) {
        standin_gpm_metric *m = &get->metrics[i];
        m->nvml_return = NVML_SUCCESS;
        m->short_name = m->long_name = m->unit = NULL;
        switch (m->metric_id) {
        case 1: m->value = g->gpm_graphics_pct; break;
        case 5: m->value = g->gpm_tensor_pct; break;
        case 10: m->value = g->gpm_dram_pct; break;
        default: m->nvml_return = NVML_ERROR_NOT_SUPPORTED; break;
        }
    }
    return NVML_SUCCESS;
}

/* GPM samples allocated and not yet freed: lets a test check none leak. */
SI_EXPORT int standin_gpm_samples(void)
{
    return __atomic_load_n(&g_gpm_samples, __ATOMIC_SEQ_CST);
}

SI_EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(void *device, int *major, int *minor)
{
    DEVICE_ENTRY(device);
    if (major == NULL || minor == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *major = g->cc_major;
    *minor = g->cc_minor;
    return NVML_SUCCESS;
}
