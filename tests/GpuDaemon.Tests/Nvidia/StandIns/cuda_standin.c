/*
 * GpuDaemon test stand-in for libcuda.so.1: the CUDA driver entry points GpuDaemon calls, answered
 * from the same standin-scenario.txt as the NVML stand-in. Device memory is host memory; the only
 * kernel it can "run" is vector_add_u32 (c[i] = a[i] + b[i] for i < n), found by its .entry name.
 */
#define _GNU_SOURCE
#include "standin_scenario.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_DEVICES_UNAVAILABLE = 46,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_INVALID_PTX = 218,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_NOT_SUPPORTED = 801,
    CUDA_ERROR_UNKNOWN = 999,
};

#define ATTRIBUTE_CC_MAJOR 75
#define ATTRIBUTE_CC_MINOR 76
#define EMULATED_KERNEL "vector_add_u32"

typedef struct { int device; int alive; } context_t;
typedef struct { char *ptx; int alive; } module_t;
typedef struct { module_t *module; char name[128]; } function_t;
typedef struct { void *base; size_t size; } allocation_t;

#define MAX_CONTEXTS 16
#define MAX_MODULES 32
#define MAX_FUNCTIONS 64
#define MAX_ALLOCATIONS 256

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static si_scenario g_scenario;
static int g_initialized;
static context_t g_contexts[MAX_CONTEXTS];
static module_t g_modules[MAX_MODULES];
static function_t g_functions[MAX_FUNCTIONS];
static allocation_t g_allocations[MAX_ALLOCATIONS];
static __thread context_t *t_current;

#define ENTRY()                                                        \
    if (!__atomic_load_n(&g_initialized, __ATOMIC_SEQ_CST))            \
        return CUDA_ERROR_NOT_INITIALIZED;                             \
    {                                                                  \
        int failure = si_fail_code(&g_scenario, -1, __func__);         \
        if (failure) return failure;                                   \
    }

#define NEEDS_CONTEXT()                                                \
    if (t_current == NULL || !t_current->alive)                        \
        return CUDA_ERROR_INVALID_CONTEXT;

SI_EXPORT CUresult cuInit(unsigned flags)
{
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    CUresult result = CUDA_SUCCESS;
    if (!g_initialized) {
        if (si_load(&g_scenario, (const void *)&cuInit) != 0) result = CUDA_ERROR_UNKNOWN;
        else if ((result = si_fail_code(&g_scenario, -1, __func__)) == 0 && g_scenario.gpu_count == 0) result = CUDA_ERROR_NO_DEVICE;
        if (result == CUDA_SUCCESS) __atomic_store_n(&g_initialized, 1, __ATOMIC_SEQ_CST);
    }
    pthread_mutex_unlock(&g_lock);
    return result;
}

SI_EXPORT CUresult cuDriverGetVersion(int *version)
{
    if (version == NULL) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    if (!g_initialized) si_load(&g_scenario, (const void *)&cuInit);
    *version = g_scenario.cuda_version;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}

static const struct {
    CUresult code;
    const char *name;
    const char *text;
} g_errors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_DEVICES_UNAVAILABLE, "CUDA_ERROR_DEVICES_UNAVAILABLE", "CUDA-capable device(s) is/are busy or unavailable"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

/* Looks the code up; `want_name` picks the name, otherwise the description. */
static CUresult describe(CUresult error, const char **text, int want_name)
{
    if (text == NULL) return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < sizeof(g_errors) / sizeof(g_errors[0]); i++) {
        if (g_errors[i].code == error) {
            *text = want_name ? g_errors[i].name : g_errors[i].text;
            return CUDA_SUCCESS;
        }
    }
    *text = NULL;
    return CUDA_ERROR_INVALID_VALUE;
}

SI_EXPORT CUresult cuGetErrorName(CUresult error, const char **text)
{
    return describe(error, text, 1);
}

SI_EXPORT CUresult cuGetErrorString(CUresult error, const char **text)
{
    return describe(error, text, 0);
}

SI_EXPORT CUresult cuDeviceGetCount(int *count)
{
    ENTRY();
    if (count == NULL) return CUDA_ERROR_INVALID_VALUE;
    *count = g_scenario.gpu_count;
    return CUDA_SUCCESS;
}

SI_EXPORT CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
    ENTRY();
    if (device == NULL) return CUDA_ERROR_INVALID_VALUE;
    if (ordinal < 0 || ordinal >= g_scenario.gpu_count) return CUDA_ERROR_INVALID_DEVICE;
    *device = ordinal;
    return CUDA_SUCCESS;
}

#define DEVICE_CHECK(dev) \
    if ((dev) < 0 || (dev) >= g_scenario.gpu_count) return CUDA_ERROR_INVALID_DEVICE;

SI_EXPORT CUresult cuDeviceGetName(char *name, int length, CUdevice device)
{
    ENTRY();
    DEVICE_CHECK(device);
    if (name == NULL || length <= 0) return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)length, "%s", g_scenario.gpus[device].name);
    return CUDA_SUCCESS;
}

static CUresult device_uuid(unsigned char *uuid, CUdevice device)
{
    DEVICE_CHECK(device);
    if (uuid == NULL) return CUDA_ERROR_INVALID_VALUE;
    const si_gpu *g = &g_scenario.gpus[device];
    return si_uuid_bytes(g->cuda_uuid[0] ? g->cuda_uuid : g->uuid, uuid) == 0 ? CUDA_SUCCESS : CUDA_ERROR_UNKNOWN;
}

SI_EXPORT CUresult cuDeviceGetUuid(unsigned char *uuid, CUdevice device)
{
    ENTRY();
    return device_uuid(uuid, device);
}

SI_EXPORT CUresult cuDeviceGetUuid_v2(unsigned char *uuid, CUdevice device)
{
    ENTRY();
    return device_uuid(uuid, device);
}

SI_EXPORT CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice device)
{
    ENTRY();
    DEVICE_CHECK(device);
    if (bytes == NULL) return CUDA_ERROR_INVALID_VALUE;
    *bytes = (size_t)(g_scenario.gpus[device].memory_total_mib * 1024ULL * 1024ULL);
    return CUDA_SUCCESS;
}

SI_EXPORT CUresult cuDeviceGetAttribute(int *value, int attribute, CUdevice device)
{
    ENTRY();
    DEVICE_CHECK(device);
    if (value == NULL) return CUDA_ERROR_INVALID_VALUE;
    if (attribute == ATTRIBUTE_CC_MAJOR) *value = g_scenario.gpus[device].cc_major;
    else if (attribute == ATTRIBUTE_CC_MINOR) *value = g_scenario.gpus[device].cc_minor;
    else return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

SI_EXPORT CUresult cuCtxCreate_v2(context_t **context, unsigned flags, CUdevice device)
{
    ENTRY();
    DEVICE_CHECK(device);
    (void)flags;
    if (context == NULL) return CUDA_ERROR_INVALID_VALUE;
    {
        int failure = si_fail_code(&g_scenario, device, __func__); /* gpuN.fail.cuCtxCreate_v2: one GPU's context fails */
        if (failure) return failure;
    }
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < MAX_CONTEXTS; i++) {
        if (!g_contexts[i].alive) {
            g_contexts[i].alive = 1;
            g_contexts[i].device = device;
            *context = &g_contexts[i];
            t_current = &g_contexts[i];
            pthread_mutex_unlock(&g_lock);
            return CUDA_SUCCESS;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return CUDA_ERROR_OUT_OF_MEMORY;
}

static int is_context(context_t *context)
{
    return context >= g_contexts && context < g_contexts + MAX_CONTEXTS && context->alive;
}

SI_EXPORT CUresult cuCtxDestroy_v2(context_t *context)
{
    ENTRY();
    pthread_mutex_lock(&g_lock);
    if (!is_context(context)) {
        pthread_mutex_unlock(&g_lock);
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    context->alive = 0;
    if (t_current == context) t_current = NULL;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}

SI_EXPORT CUresult cuCtxSetCurrent(context_t *context)
{
    ENTRY();
    if (context != NULL && !is_context(context)) return CUDA_ERROR_INVALID_CONTEXT;
    t_current = context;
    return CUDA_SUCCESS;
}

SI_EXPORT CUresult cuCtxSynchronize(void)
{
    ENTRY();
    NEEDS_CONTEXT();
    return CUDA_SUCCESS;
}

SI_EXPORT CUresult cuModuleLoadData(module_t **module, const void *image)
{
    ENTRY();
    NEEDS_CONTEXT();
    if (module == NULL || image == NULL) return CUDA_ERROR_INVALID_VALUE;
    if (strstr((const char *)image, ".entry") == NULL) return CUDA_ERROR_INVALID_PTX;
    {
        /* As the driver's JIT does: PTX for a newer architecture than the context's GPU does not load. */
        const char *target = strstr((const char *)image, ".target sm_");
        int wanted = 0;
        const si_gpu *g = &g_scenario.gpus[t_current->device];
        if (target != NULL && sscanf(target, ".target sm_%d", &wanted) == 1 && wanted > g->cc_major * 10 + g->cc_minor) {
            return CUDA_ERROR_INVALID_PTX;
        }
    }
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < MAX_MODULES; i++) {
        if (!g_modules[i].alive) {
            g_modules[i].ptx = strdup((const char *)image);
            g_modules[i].alive = 1;
            *module = &g_modules[i];
            pthread_mutex_unlock(&g_lock);
            return CUDA_SUCCESS;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return CUDA_ERROR_OUT_OF_MEMORY;
}

SI_EXPORT CUresult cuModuleUnload(module_t *module)
{
    ENTRY();
    pthread_mutex_lock(&g_lock);
    if (module < g_modules || module >= g_modules + MAX_MODULES || !module->alive) {
        pthread_mutex_unlock(&g_lock);
        return CUDA_ERROR_INVALID_HANDLE;
    }
    module->alive = 0;
    free(module->ptx);
    module->ptx = NULL;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}

SI_EXPORT CUresult cuModuleGetFunction(function_t **function, module_t *module, const char *name)
{
    ENTRY();
    if (function == NULL || name == NULL) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    CUresult result = CUDA_ERROR_NOT_FOUND;
    if (module < g_modules || module >= g_modules + MAX_MODULES || !module->alive) {
        result = CUDA_ERROR_INVALID_HANDLE;
    } else {
        char pattern[160];
        snprintf(pattern, sizeof(pattern), ".entry %s", name);
        if (strstr(module->ptx, pattern) != NULL) {
            result = CUDA_ERROR_OUT_OF_MEMORY;
            for (int i = 0; i < MAX_FUNCTIONS; i++) {
                if (g_functions[i].module == NULL || !g_functions[i].module->alive) {
                    g_functions[i].module = module;
                    snprintf(g_functions[i].name, sizeof(g_functions[i].name), "%s", name);
                    *function = &g_functions[i];
                    result = CUDA_SUCCESS;
                    break;
                }
            }
        }
    }
    pthread_mutex_unlock(&g_lock);
    return result;
}

static allocation_t *find_allocation(CUdeviceptr pointer, size_t bytes)
{
    for (int i = 0; i < MAX_ALLOCATIONS; i++) {
        allocation_t *a = &g_allocations[i];
        uintptr_t base = (uintptr_t)a->base;
        if (a->base != NULL && pointer >= base && pointer + bytes <= base + a->size) return a;
    }
    return NULL;
}

SI_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *pointer, size_t bytes)
{
    ENTRY();
    NEEDS_CONTEXT();
    {
        int failure = si_fail_code(&g_scenario, t_current->device, __func__); /* gpuN.fail.cuMemAlloc_v2: one GPU's memory is full */
        if (failure) return failure;
    }
    if (pointer == NULL || bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < MAX_ALLOCATIONS; i++) {
        if (g_allocations[i].base == NULL) {
            void *memory = calloc(1, bytes);
            if (memory == NULL) break;
            g_allocations[i].base = memory;
            g_allocations[i].size = bytes;
            *pointer = (CUdeviceptr)(uintptr_t)memory;
            pthread_mutex_unlock(&g_lock);
            return CUDA_SUCCESS;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return CUDA_ERROR_OUT_OF_MEMORY;
}

SI_EXPORT CUresult cuMemFree_v2(CUdeviceptr pointer)
{
    ENTRY();
    NEEDS_CONTEXT();
    pthread_mutex_lock(&g_lock);
    allocation_t *a = find_allocation(pointer, 0);
    if (a == NULL || (uintptr_t)a->base != pointer) {
        pthread_mutex_unlock(&g_lock);
        return CUDA_ERROR_INVALID_VALUE;
    }
    free(a->base);
    a->base = NULL;
    a->size = 0;
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}

SI_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr destination, const void *source, size_t bytes)
{
    ENTRY();
    NEEDS_CONTEXT();
    pthread_mutex_lock(&g_lock);
    CUresult result = find_allocation(destination, bytes) && source ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
    if (result == CUDA_SUCCESS) memcpy((void *)(uintptr_t)destination, source, bytes);
    pthread_mutex_unlock(&g_lock);
    return result;
}

SI_EXPORT CUresult cuMemcpyDtoH_v2(void *destination, CUdeviceptr source, size_t bytes)
{
    ENTRY();
    NEEDS_CONTEXT();
    pthread_mutex_lock(&g_lock);
    CUresult result = find_allocation(source, bytes) && destination ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
    if (result == CUDA_SUCCESS) memcpy(destination, (const void *)(uintptr_t)source, bytes);
    pthread_mutex_unlock(&g_lock);
    return result;
}

SI_EXPORT CUresult cuLaunchKernel(function_t *function, unsigned grid_x, unsigned grid_y, unsigned grid_z,
                                  unsigned block_x, unsigned block_y, unsigned block_z, unsigned shared_bytes,
                                  void *stream, void **parameters, void **extra)
{
    ENTRY();
    NEEDS_CONTEXT();
    (void)shared_bytes;
    (void)stream;
    (void)extra;
    if (function < g_functions || function >= g_functions + MAX_FUNCTIONS || function->module == NULL || !function->module->alive) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (grid_x == 0 || grid_y == 0 || grid_z == 0 || block_x == 0 || block_y == 0 || block_z == 0) return CUDA_ERROR_INVALID_VALUE;
    if (strcmp(function->name, EMULATED_KERNEL) != 0) return CUDA_ERROR_NOT_SUPPORTED;
    if (parameters == NULL) return CUDA_ERROR_INVALID_VALUE;
    CUdeviceptr a = *(CUdeviceptr *)parameters[0];
    CUdeviceptr b = *(CUdeviceptr *)parameters[1];
    CUdeviceptr c = *(CUdeviceptr *)parameters[2];
    unsigned n = *(unsigned *)parameters[3];
    unsigned long long threads = (unsigned long long)grid_x * grid_y * grid_z * block_x * block_y * block_z;
    unsigned long long count = threads < n ? threads : n;
    pthread_mutex_lock(&g_lock);
    size_t bytes = (size_t)count * sizeof(uint32_t);
    int valid = find_allocation(a, bytes) && find_allocation(b, bytes) && find_allocation(c, bytes);
    if (valid) {
        const uint32_t *left = (const uint32_t *)(uintptr_t)a;
        const uint32_t *right = (const uint32_t *)(uintptr_t)b;
        uint32_t *sum = (uint32_t *)(uintptr_t)c;
        for (unsigned long long i = 0; i < count; i++) sum[i] = left[i] + right[i];
        /* gpuN.kernel_wrong_data: a GPU that runs the kernel but computes garbage (every 4096th element off by one) */
        if (g_scenario.gpus[t_current->device].kernel_wrong_data) {
            for (unsigned long long i = 0; i < count; i += 4096) sum[i] ^= 1u;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return valid ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
