/* The runtime: backend choice, the CUDA module loader, the CPU thread pool
 * and the session memory pool. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels.h"

#define SLAB_ALIGN 256

/* A block of the pool: a range [offset, offset+size) of the one backend
 * allocation, free or handed out as a slab. Blocks form a list in address
 * order; freeing merges neighbours, so the pool never fragments into more
 * blocks than there are live slabs + 1. */
struct sori_slab {
    size_t offset, size;
    int used;
    struct sori_slab *prev, *next;
    void *data;
};

struct sori_runtime {
    sori_runtime_params params;
    const sori_backend_iface *iface;
    sori_backend *be;
    sori_thread_pool *pool;
    void *pool_base;
    pthread_mutex_t pool_lock;
    struct sori_slab *blocks;
};

/* ---- the CUDA module ----------------------------------------------------------
 * Loaded once per process (the module keeps no per-process state that a
 * second load would need), and only where an NVIDIA driver is installed.
 * Search order: $SORI_CUDA_MODULE (loaded as asked, driver or not), the
 * directory libsori itself was loaded from, then the dynamic linker's path. */
static pthread_once_t g_cuda_once = PTHREAD_ONCE_INIT;
static const sori_backend_iface *g_cuda_iface;
static char g_cuda_why[512];

static void *try_open(const char *path, char *why, size_t why_size)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, why_size, "%s", e ? e : path);
    }
    return h;
}

static void cuda_load_once(void)
{
    char why[400] = "";
    void *h = NULL;
    const char *env = getenv("SORI_CUDA_MODULE");
    if (env && *env) {
        h = try_open(env, why, sizeof why);
    } else if (!(h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL))) {
        /* no NVIDIA driver: no GPU to use, and the module is not loaded at all (cuBLAS and
         * cuDNN mapped in for nothing would add ~200 MB to every process's memory) */
        snprintf(g_cuda_why, sizeof g_cuda_why, "no NVIDIA driver (libcuda.so.1 not found): the CUDA module is not loaded");
        return;
    } else {
        dlclose(h);
        h = NULL;
        Dl_info info;
        if (dladdr((void *)&cuda_load_once, &info) && info.dli_fname) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s", info.dli_fname);
            char *slash = strrchr(path, '/');
            if (slash) {
                slash[1] = '\0';
                strncat(path, "libsori_cuda.so", sizeof path - strlen(path) - 1);
                if (access(path, F_OK) == 0)
                    h = try_open(path, why, sizeof why);
            }
            if (!h && slash) { /* the sori program in bin/, the module in lib/ */
                slash[0] = '\0';
                char *up = strrchr(path, '/');
                if (up) {
                    up[1] = '\0';
                    strncat(path, "lib/libsori_cuda.so", sizeof path - strlen(path) - 1);
                    if (access(path, F_OK) == 0)
                        h = try_open(path, why, sizeof why);
                }
            }
        }
        if (!h)
            h = try_open("libsori_cuda.so", why, sizeof why);
    }
    if (!h) {
        snprintf(g_cuda_why, sizeof g_cuda_why, "CUDA module not loadable: %s", why);
        return;
    }
    sori_backend_entry_fn entry = (sori_backend_entry_fn)dlsym(h, SORI_CUDA_ENTRY);
    const sori_backend_iface *it = entry ? entry(SORI_BACKEND_ABI) : NULL;
    if (!it || it->abi_version != SORI_BACKEND_ABI || it->struct_size != sizeof(sori_backend_iface)) {
        snprintf(g_cuda_why, sizeof g_cuda_why,
                 "CUDA module found but its interface does not match this libsori (ABI %d)",
                 SORI_BACKEND_ABI);
        dlclose(h);
        return;
    }
    g_cuda_iface = it; /* the handle stays open for the life of the process */
}

static const sori_backend_iface *cuda_iface(char *why, size_t why_size)
{
    pthread_once(&g_cuda_once, cuda_load_once);
    if (!g_cuda_iface && why && why_size)
        snprintf(why, why_size, "%s", g_cuda_why);
    return g_cuda_iface;
}

int sori_cuda_available(char *why, size_t why_size)
{
    return cuda_iface(why, why_size) != NULL;
}

sori_status sori_cuda_devices(sori_gpu_info *out, int max, int *n_found)
{
    if (!n_found || max < 0 || (max > 0 && !out))
        return SORI_ERR_INVALID_ARG;
    *n_found = 0;
    const sori_backend_iface *it = cuda_iface(NULL, 0);
    if (!it)
        return SORI_OK;
    int n = it->device_count(NULL, 0);
    for (int i = 0; i < n && i < max; i++) {
        sori_status st = it->device_info(i, &out[i]);
        if (st != SORI_OK)
            return st;
    }
    *n_found = n;
    return SORI_OK;
}

/* ---- parameters -------------------------------------------------------------- */

sori_runtime_params sori_runtime_default_params(void)
{
    sori_runtime_params p;
    memset(&p, 0, sizeof p);
    p.device = SORI_DEVICE_AUTO;
    p.device_index = 0;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    p.n_threads = n < 1 ? 1 : n > 16 ? 16 : (int)n;
    p.n_streams = 4;
    p.pool_bytes = (size_t)256 << 20;
    return p;
}

sori_status sori_device_parse(const char *text, sori_device_kind *kind, int *index)
{
    if (!text || !kind || !index)
        return SORI_ERR_INVALID_ARG;
    if (strcmp(text, "cpu") == 0) {
        *kind = SORI_DEVICE_CPU;
        *index = 0;
        return SORI_OK;
    }
    if (strcmp(text, "auto") == 0) {
        *kind = SORI_DEVICE_AUTO;
        *index = 0;
        return SORI_OK;
    }
    if (strcmp(text, "cuda") == 0) {
        *kind = SORI_DEVICE_CUDA;
        *index = 0;
        return SORI_OK;
    }
    if (strncmp(text, "cuda:", 5) == 0 && text[5] >= '0' && text[5] <= '9') {
        char *end = NULL;
        long v = strtol(text + 5, &end, 10);
        if (*end == '\0' && v >= 0 && v < 1024) {
            *kind = SORI_DEVICE_CUDA;
            *index = (int)v;
            return SORI_OK;
        }
    }
    return SORI_ERR_INVALID_ARG;
}

/* ---- create / free ------------------------------------------------------------ */

static sori_status check_params(const sori_runtime_params *p, sori_error *err)
{
    if (p->device != SORI_DEVICE_CPU && p->device != SORI_DEVICE_CUDA &&
        p->device != SORI_DEVICE_AUTO)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "runtime: unknown device kind %d",
                         (int)p->device);
    if (p->device_index < 0)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "runtime: device_index %d < 0",
                         p->device_index);
    if (p->n_threads < 1 || p->n_threads > 256)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "runtime: n_threads %d not in 1..256",
                         p->n_threads);
    if (p->n_streams < 1 || p->n_streams > 16)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "runtime: n_streams %d not in 1..16",
                         p->n_streams);
    if (p->pool_bytes == 0 || p->pool_bytes > ((size_t)1 << 40))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "runtime: pool_bytes %zu not in 1..1 TiB",
                         p->pool_bytes);
    return SORI_OK;
}

sori_status sori_runtime_create(const sori_runtime_params *params, sori_runtime **out,
                                sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "runtime: out is NULL");
    *out = NULL;
    sori_runtime_params p = params ? *params : sori_runtime_default_params();
    sori_status st = check_params(&p, err);
    if (st != SORI_OK)
        return st;

    const sori_backend_iface *it = sori_cpu_backend();
    if (p.device != SORI_DEVICE_CPU) {
        char why[512] = "";
        const sori_backend_iface *cu = cuda_iface(why, sizeof why);
        int n_dev = cu ? cu->device_count(why, sizeof why) : 0;
        if (cu && p.device_index < n_dev) {
            it = cu;
        } else if (p.device == SORI_DEVICE_CUDA) {
            if (cu && n_dev > 0)
                snprintf(why, sizeof why, "there are %d GPUs", n_dev);
            return sori_fail(err, SORI_ERR_NO_DEVICE, 0, "runtime: cuda:%d is not available (%s)",
                             p.device_index, why[0] ? why : "no GPU found");
        } else {
            sori_log(SORI_LOG_INFO, "runtime: using the CPU (%s)", why[0] ? why : "no GPU found");
        }
    }
    p.device = it == sori_cpu_backend() ? SORI_DEVICE_CPU : SORI_DEVICE_CUDA;
    if (p.device == SORI_DEVICE_CPU)
        p.device_index = 0;

    sori_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "runtime: out of memory");
    rt->params = p;
    rt->iface = it;
    pthread_mutex_init(&rt->pool_lock, NULL);
    st = sori_thread_pool_create(p.n_threads, &rt->pool, err);
    if (st == SORI_OK) {
        sori_backend_init bi = {
            .device_index = p.device_index, .n_streams = p.n_streams, .pool = rt->pool};
        st = it->init(&bi, &rt->be, err);
    }
    if (st == SORI_OK)
        st = it->alloc(rt->be, p.pool_bytes, &rt->pool_base, err);
    if (st == SORI_OK) {
        rt->blocks = calloc(1, sizeof *rt->blocks);
        if (!rt->blocks)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "runtime: out of memory");
        else
            rt->blocks->size = p.pool_bytes;
    }
    if (st != SORI_OK) {
        sori_runtime_free(rt);
        return st;
    }
    *out = rt;
    return SORI_OK;
}

void sori_runtime_free(sori_runtime *rt)
{
    if (!rt)
        return;
    for (struct sori_slab *b = rt->blocks; b;) {
        struct sori_slab *next = b->next;
        if (b->used)
            sori_log(SORI_LOG_WARN, "runtime: freed with a slab of %zu bytes still held", b->size);
        free(b);
        b = next;
    }
    if (rt->be) {
        if (rt->pool_base)
            rt->iface->release(rt->be, rt->pool_base);
        rt->iface->free(rt->be);
    }
    sori_thread_pool_free(rt->pool);
    pthread_mutex_destroy(&rt->pool_lock);
    free(rt);
}

sori_runtime_params sori_runtime_get_params(const sori_runtime *rt)
{
    if (!rt)
        return sori_runtime_default_params();
    return rt->params;
}

const char *sori_runtime_backend_name(const sori_runtime *rt)
{
    return rt ? rt->iface->name : "none";
}

/* ---- slabs ------------------------------------------------------------------------ */

sori_status sori_runtime_slab_acquire(sori_runtime *rt, size_t n_bytes, sori_slab **out,
                                      sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "slab: out is NULL");
    *out = NULL;
    if (!rt)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "slab: runtime is NULL");
    if (n_bytes == 0 || n_bytes > rt->params.pool_bytes)
        return sori_fail(err, n_bytes ? SORI_ERR_NO_MEMORY : SORI_ERR_INVALID_ARG, 0,
                         "slab: %zu bytes asked of a pool of %zu", n_bytes, rt->params.pool_bytes);
    size_t size = (n_bytes + SLAB_ALIGN - 1) / SLAB_ALIGN * SLAB_ALIGN;
    pthread_mutex_lock(&rt->pool_lock);
    struct sori_slab *b = rt->blocks;
    while (b && (b->used || b->size < size))
        b = b->next;
    if (!b) {
        pthread_mutex_unlock(&rt->pool_lock);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "slab: no free block of %zu bytes in the pool",
                         size);
    }
    if (b->size > size) { /* split: the tail stays free */
        struct sori_slab *rest = calloc(1, sizeof *rest);
        if (!rest) {
            pthread_mutex_unlock(&rt->pool_lock);
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "slab: out of host memory");
        }
        rest->offset = b->offset + size;
        rest->size = b->size - size;
        rest->prev = b;
        rest->next = b->next;
        if (b->next)
            b->next->prev = rest;
        b->next = rest;
        b->size = size;
    }
    b->used = 1;
    b->data = (char *)rt->pool_base + b->offset;
    pthread_mutex_unlock(&rt->pool_lock);
    *out = b;
    return SORI_OK;
}

static void merge_next(sori_runtime *rt, struct sori_slab *b)
{
    struct sori_slab *n = b->next;
    if (!n || n->used || b->used)
        return;
    b->size += n->size;
    b->next = n->next;
    if (n->next)
        n->next->prev = b;
    (void)rt;
    free(n);
}

void sori_runtime_slab_release(sori_runtime *rt, sori_slab *slab)
{
    if (!rt || !slab)
        return;
    pthread_mutex_lock(&rt->pool_lock);
    slab->used = 0;
    slab->data = NULL;
    merge_next(rt, slab);
    if (slab->prev && !slab->prev->used)
        merge_next(rt, slab->prev);
    pthread_mutex_unlock(&rt->pool_lock);
}

void *sori_slab_data(const sori_slab *slab)
{
    return slab ? slab->data : NULL;
}

size_t sori_slab_size(const sori_slab *slab)
{
    return slab ? slab->size : 0;
}

sori_pool_stats sori_runtime_pool_stats(sori_runtime *rt)
{
    sori_pool_stats s = {0};
    if (!rt)
        return s;
    pthread_mutex_lock(&rt->pool_lock);
    s.capacity_bytes = rt->params.pool_bytes;
    for (struct sori_slab *b = rt->blocks; b; b = b->next) {
        if (b->used) {
            s.used_bytes += b->size;
            s.n_slabs++;
        } else if (b->size > s.largest_free_bytes) {
            s.largest_free_bytes = b->size;
        }
    }
    pthread_mutex_unlock(&rt->pool_lock);
    return s;
}

/* ---- internals for the modules above ------------------------------------------------ */

const sori_backend_iface *sori_rt_iface(const sori_runtime *rt)
{
    return rt->iface;
}

sori_backend *sori_rt_backend(const sori_runtime *rt)
{
    return rt->be;
}

sori_thread_pool *sori_rt_pool(const sori_runtime *rt)
{
    return rt->pool;
}

int sori_rt_n_streams(const sori_runtime *rt)
{
    return rt->params.n_streams;
}

static sori_status check_stream(const sori_runtime *rt, int stream, sori_error *err)
{
    if (!rt)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "runtime is NULL");
    if (stream < 0 || stream >= rt->params.n_streams)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "stream %d not in 0..%d", stream,
                         rt->params.n_streams - 1);
    return SORI_OK;
}

sori_status sori_rt_run(sori_runtime *rt, int stream, const sori_op_desc *op, sori_error *err)
{
    sori_status st = check_stream(rt, stream, err);
    if (st != SORI_OK)
        return st;
    if (!op)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "op is NULL");
    st = sori_op_validate(op, err);
    if (st != SORI_OK)
        return st;
    sori_dtype wt = SORI_F32;
    if (op->op == SORI_OP_MATMUL)
        wt = op->u.matmul.b_type;
    else if (op->op == SORI_OP_EMBEDDING)
        wt = op->u.embedding.table_type;
    if (!rt->iface->supports(rt->be, op->op, wt))
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: the %s backend does not support %s weights",
                         sori_op_name(op->op), rt->iface->name, wt == SORI_F16 ? "f16" : "these");
    return rt->iface->run(rt->be, stream, op, err);
}

sori_status sori_rt_alloc(sori_runtime *rt, size_t n_bytes, void **ptr, sori_error *err)
{
    if (!rt || !ptr)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "alloc: NULL argument");
    *ptr = NULL;
    return rt->iface->alloc(rt->be, n_bytes, ptr, err);
}

void sori_rt_release(sori_runtime *rt, void *ptr)
{
    if (rt && ptr)
        rt->iface->release(rt->be, ptr);
}

sori_status sori_rt_upload(sori_runtime *rt, int stream, void *dst, const void *src, size_t n,
                           sori_error *err)
{
    sori_status st = check_stream(rt, stream, err);
    if (st != SORI_OK)
        return st;
    if (n && (!dst || !src))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "upload: NULL pointer");
    return rt->iface->upload(rt->be, stream, dst, src, n, err);
}

sori_status sori_rt_memzero(sori_runtime *rt, int stream, void *dst, size_t n, sori_error *err)
{
    sori_status st = check_stream(rt, stream, err);
    if (st != SORI_OK)
        return st;
    if (n && !dst)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "memzero: NULL pointer");
    return rt->iface->memzero(rt->be, stream, dst, n, err);
}

sori_status sori_rt_download(sori_runtime *rt, int stream, void *dst, const void *src, size_t n,
                             sori_error *err)
{
    sori_status st = check_stream(rt, stream, err);
    if (st != SORI_OK)
        return st;
    if (n && (!dst || !src))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "download: NULL pointer");
    return rt->iface->download(rt->be, stream, dst, src, n, err);
}

sori_status sori_rt_sync(sori_runtime *rt, int stream, sori_error *err)
{
    sori_status st = check_stream(rt, stream, err);
    if (st != SORI_OK)
        return st;
    return rt->iface->sync(rt->be, stream, err);
}

bool sori_rt_supports(sori_runtime *rt, sori_op op, sori_dtype weight_type)
{
    return rt && rt->iface->supports(rt->be, op, weight_type);
}
