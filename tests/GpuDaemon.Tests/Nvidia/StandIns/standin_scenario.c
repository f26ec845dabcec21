/* GpuDaemon test stand-ins: reads standin-scenario.txt (see standin_scenario.h and docs/nvml.md). */
#define _GNU_SOURCE
#include "standin_scenario.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned hgx_buses[8] = {0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB};

static void set_defaults(si_scenario *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->driver_version, sizeof(s->driver_version), "%s", "550.127.05");
    snprintf(s->nvml_version, sizeof(s->nvml_version), "%s", "12.550.127.05");
    s->cuda_version = 12040;
    s->gpu_count = 2;
    for (int i = 0; i < SI_MAX_GPUS; i++) {
        si_gpu *g = &s->gpus[i];
        snprintf(g->name, sizeof(g->name), "%s", "NVIDIA H100 80GB HBM3");
        snprintf(g->uuid, sizeof(g->uuid), "GPU-5eed0000-0000-4000-8000-%012x", i);
        snprintf(g->pci, sizeof(g->pci), "%08X:%02X:00.0", i / 8, hgx_buses[i % 8]);
        g->minor = (unsigned)i;
        g->memory_total_mib = 81559;
        g->memory_used_mib = 0;
        g->memory_reserved_mib = 0;
        g->temperature_c = 30 + (unsigned)i;
        g->power_mw = 70000;
        g->clock_sm_mhz = 1980;
        g->clock_mem_mhz = 2619;
        g->energy_mj = 1000000ULL * (unsigned long long)(i + 1);
        g->mig_mode = 0;
        g->cc_major = 9;
        g->cc_minor = 0;
        g->pcie_gen = g->pcie_gen_max = 5;
        g->pcie_width = g->pcie_width_max = 16;
        g->memory_temp_c = 40 + (unsigned)i;
        g->gpm = 1;
        g->gpm_graphics_pct = 50;
        g->gpm_tensor_pct = 25;
        g->gpm_dram_pct = 10;
    }
}

static char *trim(char *text)
{
    while (isspace((unsigned char)*text)) {
        text++;
    }
    char *end = text + strlen(text);
    while (end > text && isspace((unsigned char)end[-1])) {
        *--end = '\0';
    }
    return text;
}

static int parse_ull(const char *value, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 0);
    if (errno != 0 || end == value || *trim(end) != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_uint(const char *value, unsigned *out)
{
    unsigned long long v;
    if (parse_ull(value, &v) != 0 || v > 0xFFFFFFFFULL) {
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int parse_bool(const char *value, int *out)
{
    if (strcmp(value, "1") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "true") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(value, "0") == 0 || strcmp(value, "no") == 0 || strcmp(value, "false") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int parse_links(char *value, si_gpu *g)
{
    g->nvlink_count = 0;
    for (char *save = NULL, *item = strtok_r(value, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        item = trim(item);
        if (g->nvlink_count == SI_MAX_LINKS) {
            return -1;
        }
        unsigned peer;
        if (strcmp(item, "switch") == 0) {
            g->nvlink[g->nvlink_count++] = SI_LINK_TO_SWITCH;
        } else if (parse_uint(item, &peer) == 0 && peer < SI_MAX_GPUS) {
            g->nvlink[g->nvlink_count++] = (int)peer;
        } else {
            return -1;
        }
    }
    return 0;
}

static int parse_mig_instances(char *value, si_gpu *g)
{
    g->mig_count = 0;
    for (char *save = NULL, *item = strtok_r(value, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        item = trim(item);
        char *colon = strchr(item, ':');
        if (colon == NULL || g->mig_count == SI_MAX_MIG) {
            return -1;
        }
        *colon = '\0';
        si_mig_instance *m = &g->mig[g->mig_count];
        snprintf(m->profile, sizeof(m->profile), "%s", trim(item));
        if (parse_ull(trim(colon + 1), &m->memory_mib) != 0) {
            return -1;
        }
        g->mig_count++;
    }
    return 0;
}

static int parse_xids(char *value, si_gpu *g)
{
    g->xid_count = 0;
    for (char *save = NULL, *item = strtok_r(value, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (g->xid_count == SI_MAX_XIDS || parse_uint(trim(item), &g->xid[g->xid_count]) != 0) {
            return -1;
        }
        g->xid_count++;
    }
    return 0;
}

static int add_fail(si_scenario *s, int gpu, const char *function, const char *value)
{
    unsigned code;
    if (s->fail_count == SI_MAX_FAILS || parse_uint(value, &code) != 0 || strlen(function) >= sizeof(s->fails[0].function)) {
        return -1;
    }
    si_fail *f = &s->fails[s->fail_count++];
    f->gpu = gpu;
    f->code = (int)code;
    snprintf(f->function, sizeof(f->function), "%s", function);
    return 0;
}

#define TEXT_FIELD(field) snprintf(g->field, sizeof(g->field), "%s", value), 0

static int set_gpu_field(si_scenario *s, int index, const char *field, char *value)
{
    si_gpu *g = &s->gpus[index];
    if (strncmp(field, "fail.", 5) == 0) return add_fail(s, index, field + 5, value);
    if (strcmp(field, "name") == 0) return TEXT_FIELD(name);
    if (strcmp(field, "uuid") == 0) return TEXT_FIELD(uuid);
    if (strcmp(field, "pci") == 0) return TEXT_FIELD(pci);
    if (strcmp(field, "minor") == 0) return parse_uint(value, &g->minor);
    if (strcmp(field, "memory_total_mib") == 0) return parse_ull(value, &g->memory_total_mib);
    if (strcmp(field, "memory_used_mib") == 0) return parse_ull(value, &g->memory_used_mib);
    if (strcmp(field, "memory_reserved_mib") == 0) return parse_ull(value, &g->memory_reserved_mib);
    if (strcmp(field, "util_gpu") == 0) return parse_uint(value, &g->util_gpu);
    if (strcmp(field, "util_memory") == 0) return parse_uint(value, &g->util_memory);
    if (strcmp(field, "util_encoder") == 0) return parse_uint(value, &g->util_encoder);
    if (strcmp(field, "util_decoder") == 0) return parse_uint(value, &g->util_decoder);
    if (strcmp(field, "temperature_c") == 0) return parse_uint(value, &g->temperature_c);
    if (strcmp(field, "power_mw") == 0) return parse_uint(value, &g->power_mw);
    if (strcmp(field, "clock_sm_mhz") == 0) return parse_uint(value, &g->clock_sm_mhz);
    if (strcmp(field, "clock_mem_mhz") == 0) return parse_uint(value, &g->clock_mem_mhz);
    if (strcmp(field, "energy_mj") == 0) return parse_ull(value, &g->energy_mj);
    if (strcmp(field, "pcie_replay") == 0) return parse_uint(value, &g->pcie_replay);
    if (strcmp(field, "ecc_corrected") == 0) return parse_ull(value, &g->ecc_corrected);
    if (strcmp(field, "ecc_uncorrected") == 0) return parse_ull(value, &g->ecc_uncorrected);
    if (strcmp(field, "remapped_correctable") == 0) return parse_uint(value, &g->remapped_correctable);
    if (strcmp(field, "remapped_uncorrectable") == 0) return parse_uint(value, &g->remapped_uncorrectable);
    if (strcmp(field, "nvlink") == 0) return parse_links(value, g);
    if (strcmp(field, "mig_instances") == 0) return parse_mig_instances(value, g);
    if (strcmp(field, "xid") == 0) return parse_xids(value, g);
    if (strcmp(field, "lost") == 0) return parse_bool(value, &g->lost);
    if (strcmp(field, "cuda_uuid") == 0) return TEXT_FIELD(cuda_uuid);
    if (strcmp(field, "kernel_wrong_data") == 0) return parse_bool(value, &g->kernel_wrong_data);
    if (strcmp(field, "pcie_gen") == 0) return parse_uint(value, &g->pcie_gen);
    if (strcmp(field, "pcie_gen_max") == 0) return parse_uint(value, &g->pcie_gen_max);
    if (strcmp(field, "pcie_width") == 0) return parse_uint(value, &g->pcie_width);
    if (strcmp(field, "pcie_width_max") == 0) return parse_uint(value, &g->pcie_width_max);
    if (strcmp(field, "remapped_pending") == 0) return parse_bool(value, &g->remapped_pending);
    if (strcmp(field, "remapped_failed") == 0) return parse_bool(value, &g->remapped_failed);
    if (strcmp(field, "retired_pages_pending") == 0) return parse_bool(value, &g->retired_pages_pending);
    if (strcmp(field, "clock_event_reasons") == 0) return parse_ull(value, &g->clock_event_reasons);
    if (strcmp(field, "memory_temp_c") == 0) return parse_uint(value, &g->memory_temp_c);
    if (strcmp(field, "row_remap_failed") == 0) return parse_bool(value, &g->remapped_failed); /* the name metrics tests use */
    if (strcmp(field, "gpm") == 0) return parse_bool(value, &g->gpm);
    if (strcmp(field, "gpm_graphics_pct") == 0) return parse_uint(value, &g->gpm_graphics_pct);
    if (strcmp(field, "gpm_tensor_pct") == 0) return parse_uint(value, &g->gpm_tensor_pct);
    if (strcmp(field, "gpm_dram_pct") == 0) return parse_uint(value, &g->gpm_dram_pct);
    if (strcmp(field, "compute_mode") == 0) return parse_uint(value, &g->compute_mode);
    if (strcmp(field, "compute_processes") == 0) return parse_uint(value, &g->compute_processes);
    if (strcmp(field, "compute_capability") == 0) {
        return sscanf(value, "%d.%d", &g->cc_major, &g->cc_minor) == 2 ? 0 : -1;
    }
    if (strcmp(field, "mig") == 0) {
        if (strcmp(value, "unsupported") == 0) g->mig_mode = -1;
        else if (strcmp(value, "off") == 0) g->mig_mode = 0;
        else if (strcmp(value, "on") == 0) g->mig_mode = 1;
        else return -1;
        return 0;
    }
    return -1;
}

static int set_field(si_scenario *s, const char *key, char *value, int *highest_gpu)
{
    if (strcmp(key, "driver") == 0) return snprintf(s->driver_version, sizeof(s->driver_version), "%s", value), 0;
    if (strcmp(key, "nvml") == 0) return snprintf(s->nvml_version, sizeof(s->nvml_version), "%s", value), 0;
    if (strcmp(key, "cuda") == 0) {
        unsigned v;
        if (parse_uint(value, &v) != 0) return -1;
        s->cuda_version = (int)v;
        return 0;
    }
    if (strcmp(key, "gpus") == 0) {
        unsigned v;
        if (parse_uint(value, &v) != 0 || v > SI_MAX_GPUS) return -1;
        s->gpu_count = (int)v;
        return 0;
    }
    if (strncmp(key, "fail.", 5) == 0) return add_fail(s, -1, key + 5, value);
    unsigned index;
    int used = 0;
    if (sscanf(key, "gpu%u.%n", &index, &used) == 1 && used > 0 && index < SI_MAX_GPUS) {
        if ((int)index > *highest_gpu) *highest_gpu = (int)index;
        return set_gpu_field(s, (int)index, key + used, value);
    }
    return -1;
}

int si_load(si_scenario *s, const void *anchor)
{
    set_defaults(s);
    Dl_info info;
    if (dladdr(anchor, &info) == 0 || info.dli_fname == NULL) {
        fprintf(stderr, "stand-in: cannot tell which file it was loaded from\n");
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s", info.dli_fname);
    char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(path, sizeof(path), "%s", SI_SCENARIO_FILE);
    } else {
        snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path), "%s", SI_SCENARIO_FILE);
    }
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return 0;
    }
    char line[1024];
    int number = 0, highest_gpu = -1, status = 0;
    while (status == 0 && fgets(line, sizeof(line), file) != NULL) {
        number++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *text = trim(line);
        if (*text == '\0') continue;
        char *equals = strchr(text, '=');
        if (equals == NULL) {
            fprintf(stderr, "stand-in: %s line %d has no '='\n", path, number);
            status = -1;
            break;
        }
        *equals = '\0';
        char *key = trim(text);
        char *value = trim(equals + 1);
        if (set_field(s, key, value, &highest_gpu) != 0) {
            fprintf(stderr, "stand-in: %s line %d: cannot use %s = %s\n", path, number, key, value);
            status = -1;
        }
    }
    fclose(file);
    if (status == 0 && highest_gpu >= s->gpu_count) {
        fprintf(stderr, "stand-in: %s describes gpu%d but gpus = %d\n", path, highest_gpu, s->gpu_count);
        status = -1;
    }
    return status;
}

int si_fail_code(const si_scenario *s, int gpu, const char *function)
{
    for (int i = 0; i < s->fail_count; i++) {
        const si_fail *f = &s->fails[i];
        if ((f->gpu == -1 || f->gpu == gpu) && strcmp(f->function, function) == 0) {
            return f->code;
        }
    }
    return 0;
}

int si_uuid_bytes(const char *uuid, unsigned char out[16])
{
    int nibbles = 0;
    const char *p = strncmp(uuid, "GPU-", 4) == 0 ? uuid + 4 : uuid;
    for (; *p && nibbles < 32; p++) {
        if (*p == '-') continue;
        if (!isxdigit((unsigned char)*p)) return -1;
        int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
        if (nibbles % 2 == 0) out[nibbles / 2] = (unsigned char)(v << 4);
        else out[nibbles / 2] |= (unsigned char)v;
        nibbles++;
    }
    return nibbles == 32 ? 0 : -1;
}
