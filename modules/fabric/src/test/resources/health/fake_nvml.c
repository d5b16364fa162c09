/*
 * TEST DOUBLE: a stand-in for libnvidia-ml with the few entry points Kvasir's health monitor binds,
 * declared with NVML's documented C types, so that the Java FFM binding (io.kvasir.fabric.health.Nvml)
 * is checked against real native calls: argument order, pointer out-parameters and struct layouts.
 * Two devices: device 0 answers everything; device 1 has no temperature sensor (NVML_ERROR_NOT_SUPPORTED).
 */
typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct { unsigned int gpu; unsigned int memory; } nvmlUtilization_t;
typedef struct { unsigned long long total; unsigned long long free; unsigned long long used; } nvmlMemory_t;

struct nvmlDevice_st { int index; };
static struct nvmlDevice_st devices[2] = { {0}, {1} };
static int initialised = 0;

nvmlReturn_t nvmlInit_v2(void) { initialised = 1; return 0; }
nvmlReturn_t nvmlShutdown(void) { initialised = 0; return 0; }

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialised) return 1; /* NVML_ERROR_UNINITIALIZED */
    *count = 2;
    return 0;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (index > 1) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *device = &devices[index];
    return 0;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temp) {
    if (sensor != 0) return 2;
    if (device->index == 1) return 3; /* NVML_ERROR_NOT_SUPPORTED */
    *temp = 71;
    return 0;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *u) {
    u->gpu = 37 + device->index;
    u->memory = 12;
    return 0;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *m) {
    m->total = 16ULL << 30;
    m->free = 4ULL << 30;
    m->used = (12ULL << 30) + device->index;
    return 0;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *milliwatts) {
    *milliwatts = 123456;
    return 0;
}
