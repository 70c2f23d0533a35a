/* GGUF v3 reader and writer. Layout (little-endian):
 *   "GGUF" u32 version, u64 n_tensors, u64 n_kv,
 *   n_kv × (string key, u32 type, value),
 *   n_tensors × (string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset),
 *   padding to `alignment`, then the data section (tensor offsets relative to it).
 * string = u64 length + bytes (no NUL); array = u32 elem type, u64 n, elems.
 * (llama.cpp's gguf/gguf.cpp and docs/gguf.md in the ggml repository.) */
#define _DEFAULT_SOURCE /* madvise */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels.h"

/* ---- type tables ------------------------------------------------------------------ */

typedef struct {
    uint32_t type;
    const char *name;
    int block;
    int bytes; /* per block */
} ggml_type_info;

static const ggml_type_info g_types[] = {
    {SORI_GGML_F32, "f32", 1, 4},      {SORI_GGML_F16, "f16", 1, 2},
    {SORI_GGML_Q4_0, "q4_0", 32, 18},  {SORI_GGML_Q4_1, "q4_1", 32, 20},
    {SORI_GGML_Q5_0, "q5_0", 32, 22},  {SORI_GGML_Q5_1, "q5_1", 32, 24},
    {SORI_GGML_Q8_0, "q8_0", 32, 34},  {SORI_GGML_Q8_1, "q8_1", 32, 36},
    {SORI_GGML_Q2_K, "q2_K", 256, 84}, {SORI_GGML_Q3_K, "q3_K", 256, 110},
    {SORI_GGML_Q4_K, "q4_K", 256, 144}, {SORI_GGML_Q5_K, "q5_K", 256, 176},
    {SORI_GGML_Q6_K, "q6_K", 256, 210}, {SORI_GGML_Q8_K, "q8_K", 256, 292},
    {SORI_GGML_I8, "i8", 1, 1},        {SORI_GGML_I16, "i16", 1, 2},
    {SORI_GGML_I32, "i32", 1, 4},      {SORI_GGML_I64, "i64", 1, 8},
    {SORI_GGML_F64, "f64", 1, 8},      {SORI_GGML_BF16, "bf16", 1, 2},
};

static const ggml_type_info *type_info(uint32_t t)
{
    for (size_t i = 0; i < sizeof g_types / sizeof g_types[0]; i++)
        if (g_types[i].type == t)
            return &g_types[i];
    return NULL;
}

const char *sori_ggml_type_name(uint32_t type)
{
    const ggml_type_info *ti = type_info(type);
    return ti ? ti->name : NULL;
}

size_t sori_ggml_row_size(uint32_t type, int64_t n)
{
    const ggml_type_info *ti = type_info(type);
    if (!ti || n < 0 || n % ti->block)
        return 0;
    return (size_t)(n / ti->block) * (size_t)ti->bytes;
}

static size_t scalar_size(uint32_t t)
{
    switch (t) {
    case SORI_GGUF_U8:
    case SORI_GGUF_I8:
    case SORI_GGUF_BOOL: return 1;
    case SORI_GGUF_U16:
    case SORI_GGUF_I16: return 2;
    case SORI_GGUF_U32:
    case SORI_GGUF_I32:
    case SORI_GGUF_F32: return 4;
    case SORI_GGUF_U64:
    case SORI_GGUF_I64:
    case SORI_GGUF_F64: return 8;
    default: return 0;
    }
}

/* ---- reader ------------------------------------------------------------------------- */

typedef struct {
    char *key;
    uint32_t type;
    union {
        uint64_t u;
        int64_t i;
        double f;
        char *s;
    } v;
    /* arrays */
    uint32_t elem_type;
    uint64_t n;
    const uint8_t *raw; /* packed scalars, inside the buffer */
    char **strs;        /* string arrays */
} kv_entry;

struct sori_gguf {
    const uint8_t *base;
    size_t size;
    int mapped;
    uint32_t version, alignment;
    size_t data_offset;
    int64_t n_kv, n_tensors;
    kv_entry *kv;
    sori_gguf_tensor *tensors;
};

typedef struct {
    const uint8_t *p;
    size_t size, pos;
    sori_error *err;
} cursor;

#define FMT_FAIL(...) sori_fail(c->err, SORI_ERR_FORMAT, 0, "gguf: " __VA_ARGS__)

static int need(cursor *c, size_t n, const char *what)
{
    if (c->size - c->pos < n) {
        FMT_FAIL("truncated: %s needs %zu bytes at offset %zu, %zu left", what, n, c->pos,
                 c->size - c->pos);
        return 0;
    }
    return 1;
}

static int rd(cursor *c, void *out, size_t n, const char *what)
{
    if (!need(c, n, what))
        return 0;
    memcpy(out, c->p + c->pos, n);
    c->pos += n;
    return 1;
}

/* A string copied out with a NUL. */
static char *rd_str(cursor *c, const char *what)
{
    uint64_t len;
    if (!rd(c, &len, 8, what))
        return NULL;
    if (len > c->size - c->pos) {
        FMT_FAIL("%s length %llu exceeds the %zu bytes left at offset %zu", what,
                 (unsigned long long)len, c->size - c->pos, c->pos);
        return NULL;
    }
    char *s = malloc((size_t)len + 1);
    if (!s) {
        sori_fail(c->err, SORI_ERR_NO_MEMORY, 0, "gguf: out of memory reading %s", what);
        return NULL;
    }
    memcpy(s, c->p + c->pos, (size_t)len);
    s[len] = '\0';
    c->pos += (size_t)len;
    return s;
}

static void free_kv(kv_entry *e)
{
    free(e->key);
    if (e->type == SORI_GGUF_STRING)
        free(e->v.s);
    if (e->strs) {
        for (uint64_t i = 0; i < e->n; i++)
            free(e->strs[i]);
        free(e->strs);
    }
}

static int rd_value(cursor *c, kv_entry *e)
{
    if (e->type == SORI_GGUF_STRING) {
        e->v.s = rd_str(c, "string value");
        return e->v.s != NULL;
    }
    if (e->type == SORI_GGUF_ARRAY) {
        if (!rd(c, &e->elem_type, 4, "array type") || !rd(c, &e->n, 8, "array length"))
            return 0;
        if (e->elem_type == SORI_GGUF_ARRAY) {
            FMT_FAIL("key '%s': nested arrays are not supported", e->key);
            return 0;
        }
        if (e->elem_type == SORI_GGUF_STRING) {
            /* each string takes at least its 8-byte length */
            if (e->n > (c->size - c->pos) / 8) {
                FMT_FAIL("key '%s': %llu strings cannot fit in %zu bytes", e->key,
                         (unsigned long long)e->n, c->size - c->pos);
                return 0;
            }
            e->strs = calloc(e->n ? (size_t)e->n : 1, sizeof(char *));
            if (!e->strs) {
                e->n = 0;
                sori_fail(c->err, SORI_ERR_NO_MEMORY, 0, "gguf: out of memory");
                return 0;
            }
            for (uint64_t i = 0; i < e->n; i++)
                if (!(e->strs[i] = rd_str(c, "array string")))
                    return 0;
            return 1;
        }
        size_t es = scalar_size(e->elem_type);
        if (!es) {
            FMT_FAIL("key '%s': unknown array element type %u", e->key, e->elem_type);
            return 0;
        }
        if (e->n > (c->size - c->pos) / es) {
            FMT_FAIL("key '%s': array of %llu elements exceeds the %zu bytes left", e->key,
                     (unsigned long long)e->n, c->size - c->pos);
            return 0;
        }
        e->raw = c->p + c->pos;
        c->pos += (size_t)e->n * es;
        return 1;
    }
    size_t es = scalar_size(e->type);
    if (!es) {
        FMT_FAIL("key '%s': unknown value type %u", e->key, e->type);
        return 0;
    }
    uint8_t buf[8] = {0};
    if (!rd(c, buf, es, "value"))
        return 0;
    switch (e->type) {
    case SORI_GGUF_U8: e->v.u = buf[0]; break;
    case SORI_GGUF_BOOL:
        if (buf[0] > 1) {
            FMT_FAIL("key '%s': bool value %u", e->key, buf[0]);
            return 0;
        }
        e->v.u = buf[0];
        break;
    case SORI_GGUF_I8: e->v.i = (int8_t)buf[0]; break;
    case SORI_GGUF_U16: { uint16_t x; memcpy(&x, buf, 2); e->v.u = x; break; }
    case SORI_GGUF_I16: { int16_t x; memcpy(&x, buf, 2); e->v.i = x; break; }
    case SORI_GGUF_U32: { uint32_t x; memcpy(&x, buf, 4); e->v.u = x; break; }
    case SORI_GGUF_I32: { int32_t x; memcpy(&x, buf, 4); e->v.i = x; break; }
    case SORI_GGUF_F32: { float x; memcpy(&x, buf, 4); e->v.f = x; break; }
    case SORI_GGUF_U64: memcpy(&e->v.u, buf, 8); break;
    case SORI_GGUF_I64: memcpy(&e->v.i, buf, 8); break;
    case SORI_GGUF_F64: memcpy(&e->v.f, buf, 8); break;
    }
    return 1;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

static int cmp_tensor_offset(const void *a, const void *b)
{
    const sori_gguf_tensor *x = *(const sori_gguf_tensor *const *)a;
    const sori_gguf_tensor *y = *(const sori_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Duplicate detection over n names (NULL-free) by sorting pointers to them. */
static const char *find_duplicate(char **names, int64_t n, int *oom)
{
    *oom = 0;
    if (n < 2)
        return NULL;
    char ***idx = malloc((size_t)n * sizeof *idx);
    if (!idx) {
        *oom = 1;
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        idx[i] = &names[i];
    qsort(idx, (size_t)n, sizeof *idx, cmp_str_ptr);
    const char *dup = NULL;
    for (int64_t i = 1; i < n && !dup; i++)
        if (strcmp(*idx[i - 1], *idx[i]) == 0)
            dup = *idx[i];
    free(idx);
    return dup;
}

static sori_status parse(sori_gguf *g, sori_error *err)
{
    cursor cur = {g->base, g->size, 0, err}, *c = &cur;
    char magic[4];
    if (!rd(c, magic, 4, "magic"))
        return SORI_ERR_FORMAT;
    if (memcmp(magic, "GGUF", 4) != 0)
        return FMT_FAIL("not a GGUF file (bad magic)");
    if (!rd(c, &g->version, 4, "version"))
        return SORI_ERR_FORMAT;
    if (g->version != 2 && g->version != 3) {
        if ((g->version & 0xffff) == 0)
            return FMT_FAIL("big-endian GGUF files are not supported");
        return FMT_FAIL("unsupported version %u (2 or 3 expected)", g->version);
    }
    uint64_t n_tensors, n_kv;
    if (!rd(c, &n_tensors, 8, "tensor count") || !rd(c, &n_kv, 8, "key count"))
        return SORI_ERR_FORMAT;
    /* A key-value pair takes at least 8+1+4+1 bytes, a tensor info 8+1+4+8+4+8. */
    if (n_kv > (c->size - c->pos) / 14)
        return FMT_FAIL("key count %llu impossible in a file of %zu bytes",
                        (unsigned long long)n_kv, g->size);
    if (n_tensors > (c->size - c->pos) / 33)
        return FMT_FAIL("tensor count %llu impossible in a file of %zu bytes",
                        (unsigned long long)n_tensors, g->size);
    g->kv = calloc(n_kv ? (size_t)n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "gguf: out of memory");

    g->alignment = SORI_GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < n_kv; i++) {
        kv_entry *e = &g->kv[i];
        g->n_kv = (int64_t)i + 1; /* so free_kv sees what was allocated */
        if (!(e->key = rd_str(c, "key")))
            return err && err->status == SORI_ERR_NO_MEMORY ? SORI_ERR_NO_MEMORY : SORI_ERR_FORMAT;
        if (!e->key[0])
            return FMT_FAIL("key %llu is empty", (unsigned long long)i);
        if (!rd(c, &e->type, 4, "value type"))
            return SORI_ERR_FORMAT;
        if (!rd_value(c, e))
            return err && err->status == SORI_ERR_NO_MEMORY ? SORI_ERR_NO_MEMORY : SORI_ERR_FORMAT;
        if (strcmp(e->key, "general.alignment") == 0) {
            if (e->type != SORI_GGUF_U32)
                return FMT_FAIL("general.alignment must be a u32");
            if (e->v.u == 0 || (e->v.u & (e->v.u - 1)) || e->v.u > 65536)
                return FMT_FAIL("general.alignment %llu is not a power of two <= 65536",
                                (unsigned long long)e->v.u);
            g->alignment = (uint32_t)e->v.u;
        }
    }
    {
        char **keys = malloc((n_kv ? (size_t)n_kv : 1) * sizeof(char *));
        if (!keys)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "gguf: out of memory");
        for (uint64_t i = 0; i < n_kv; i++)
            keys[i] = g->kv[i].key;
        int oom;
        const char *dup = find_duplicate(keys, (int64_t)n_kv, &oom);
        sori_status st = SORI_OK;
        if (oom)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "gguf: out of memory");
        else if (dup)
            st = FMT_FAIL("duplicate key '%s'", dup);
        free(keys);
        if (st != SORI_OK)
            return st;
    }

    for (uint64_t i = 0; i < n_tensors; i++) {
        sori_gguf_tensor *t = &g->tensors[i];
        g->n_tensors = (int64_t)i + 1;
        char *name = rd_str(c, "tensor name");
        if (!name)
            return err && err->status == SORI_ERR_NO_MEMORY ? SORI_ERR_NO_MEMORY : SORI_ERR_FORMAT;
        t->name = name;
        if (!name[0])
            return FMT_FAIL("tensor %llu has an empty name", (unsigned long long)i);
        uint32_t n_dims;
        if (!rd(c, &n_dims, 4, "tensor n_dims"))
            return SORI_ERR_FORMAT;
        if (n_dims < 1 || n_dims > SORI_GGUF_MAX_DIMS)
            return FMT_FAIL("tensor '%s': %u dimensions (1..4 allowed)", name, n_dims);
        t->n_dims = (int)n_dims;
        int64_t n_el = 1;
        for (int d = 0; d < SORI_GGUF_MAX_DIMS; d++)
            t->ne[d] = 1;
        for (uint32_t d = 0; d < n_dims; d++) {
            uint64_t ne;
            if (!rd(c, &ne, 8, "tensor dimension"))
                return SORI_ERR_FORMAT;
            if (ne == 0 || ne > (uint64_t)INT64_MAX / (uint64_t)n_el)
                return FMT_FAIL("tensor '%s': dimension %u = %llu is zero or overflows", name, d,
                                (unsigned long long)ne);
            t->ne[d] = (int64_t)ne;
            n_el *= (int64_t)ne;
        }
        t->n_elements = n_el;
        if (!rd(c, &t->type, 4, "tensor type") || !rd(c, &t->offset, 8, "tensor offset"))
            return SORI_ERR_FORMAT;
        const ggml_type_info *ti = type_info(t->type);
        if (!ti)
            return FMT_FAIL("tensor '%s': unknown type %u", name, t->type);
        if (t->ne[0] % ti->block)
            return FMT_FAIL("tensor '%s': row of %lld is not a multiple of the %s block %d", name,
                            (long long)t->ne[0], ti->name, ti->block);
        uint64_t blocks = (uint64_t)n_el / (uint64_t)ti->block;
        if (blocks > (uint64_t)SIZE_MAX / (uint64_t)ti->bytes || blocks * ti->bytes > g->size)
            return FMT_FAIL("tensor '%s': %llu elements cannot fit in the file", name,
                            (unsigned long long)n_el);
        t->n_bytes = (size_t)(blocks * (uint64_t)ti->bytes);
        if (t->offset % g->alignment)
            return FMT_FAIL("tensor '%s': offset %llu not aligned to %u", name,
                            (unsigned long long)t->offset, g->alignment);
    }
    {
        char **names = malloc((n_tensors ? (size_t)n_tensors : 1) * sizeof(char *));
        if (!names)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "gguf: out of memory");
        for (uint64_t i = 0; i < n_tensors; i++)
            names[i] = (char *)g->tensors[i].name;
        int oom;
        const char *dup = find_duplicate(names, (int64_t)n_tensors, &oom);
        sori_status st = SORI_OK;
        if (oom)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "gguf: out of memory");
        else if (dup)
            st = FMT_FAIL("duplicate tensor name '%s'", dup);
        free(names);
        if (st != SORI_OK)
            return st;
    }

    /* data section */
    size_t pad = (g->alignment - c->pos % g->alignment) % g->alignment;
    if (n_tensors == 0) {
        g->data_offset = c->pos + pad <= g->size ? c->pos + pad : g->size;
        return SORI_OK;
    }
    if (pad > g->size - c->pos)
        return FMT_FAIL("truncated before the data section");
    g->data_offset = c->pos + pad;
    size_t data_size = g->size - g->data_offset;
    const sori_gguf_tensor **order = malloc((size_t)n_tensors * sizeof *order);
    if (!order)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "gguf: out of memory");
    for (uint64_t i = 0; i < n_tensors; i++)
        order[i] = &g->tensors[i];
    qsort(order, (size_t)n_tensors, sizeof *order, cmp_tensor_offset);
    sori_status st = SORI_OK;
    for (uint64_t i = 0; i < n_tensors && st == SORI_OK; i++) {
        const sori_gguf_tensor *t = order[i];
        if (t->offset > data_size || t->n_bytes > data_size - t->offset)
            st = FMT_FAIL("tensor '%s': data [%llu, +%zu) runs past the end of the file (data "
                          "section %zu bytes): truncated?",
                          t->name, (unsigned long long)t->offset, t->n_bytes, data_size);
        else if (i + 1 < n_tensors && t->offset + t->n_bytes > order[i + 1]->offset)
            st = FMT_FAIL("tensors '%s' and '%s' overlap", t->name, order[i + 1]->name);
    }
    free(order);
    if (st != SORI_OK)
        return st;
    for (uint64_t i = 0; i < n_tensors; i++)
        g->tensors[i].data = g->base + g->data_offset + g->tensors[i].offset;
    return SORI_OK;
}

void sori_gguf_free(sori_gguf *g)
{
    if (!g)
        return;
    for (int64_t i = 0; i < g->n_kv; i++)
        free_kv(&g->kv[i]);
    free(g->kv);
    for (int64_t i = 0; i < g->n_tensors; i++)
        free((char *)g->tensors[i].name);
    free(g->tensors);
    if (g->mapped)
        munmap((void *)g->base, g->size);
    free(g);
}

void sori_gguf_release_pages(const sori_gguf *g)
{
    if (g && g->mapped) /* a read-only private map of a file: dropped pages are re-read from the file */
        madvise((void *)g->base, g->size, MADV_DONTNEED);
}

static sori_status open_common(sori_gguf *g, sori_gguf **out, sori_error *err)
{
    sori_status st = parse(g, err);
    if (st != SORI_OK) {
        sori_gguf_free(g);
        return st;
    }
    *out = g;
    return SORI_OK;
}

sori_status sori_gguf_open_memory(const void *data, size_t size, sori_gguf **out, sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "gguf: out is NULL");
    *out = NULL;
    if (!data && size)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "gguf: data is NULL");
    sori_gguf *g = calloc(1, sizeof *g);
    if (!g)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "gguf: out of memory");
    g->base = data;
    g->size = size;
    return open_common(g, out, err);
}

sori_status sori_gguf_open_file(const char *path, sori_gguf **out, sori_error *err)
{
    if (!out || !path)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "gguf: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sori_fail(err, SORI_ERR_IO, errno, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return sori_fail(err, SORI_ERR_IO, 0, "%s: not a regular file", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: empty file", path);
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED)
        return sori_fail(err, SORI_ERR_IO, e, "%s: cannot map: %s", path, strerror(e));
    sori_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        munmap(m, (size_t)sb.st_size);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "gguf: out of memory");
    }
    g->base = m;
    g->size = (size_t)sb.st_size;
    g->mapped = 1;
    sori_status st = open_common(g, out, err);
    if (st != SORI_OK && err) { /* prefix the file name */
        char msg[sizeof err->message];
        memcpy(msg, err->message, sizeof msg);
        int n = snprintf(err->message, sizeof err->message, "%s: ", path);
        if (n > 0 && (size_t)n < sizeof err->message)
            snprintf(err->message + n, sizeof err->message - (size_t)n, "%.*s",
                     (int)(sizeof err->message - (size_t)n - 1), msg);
    }
    return st;
}

uint32_t sori_gguf_version(const sori_gguf *g) { return g ? g->version : 0; }
uint32_t sori_gguf_alignment(const sori_gguf *g) { return g ? g->alignment : 0; }
size_t sori_gguf_data_offset(const sori_gguf *g) { return g ? g->data_offset : 0; }
int64_t sori_gguf_n_kv(const sori_gguf *g) { return g ? g->n_kv : 0; }
int64_t sori_gguf_n_tensors(const sori_gguf *g) { return g ? g->n_tensors : 0; }

const char *sori_gguf_kv_key(const sori_gguf *g, int64_t i)
{
    return g && i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

sori_gguf_type sori_gguf_kv_type(const sori_gguf *g, int64_t i)
{
    return g && i >= 0 && i < g->n_kv ? (sori_gguf_type)g->kv[i].type : (sori_gguf_type)-1;
}

int64_t sori_gguf_find_key(const sori_gguf *g, const char *key)
{
    if (!g || !key)
        return -1;
    for (int64_t i = 0; i < g->n_kv; i++)
        if (strcmp(g->kv[i].key, key) == 0)
            return i;
    return -1;
}

static sori_status lookup(const sori_gguf *g, const char *key, const kv_entry **e)
{
    if (!g || !key)
        return SORI_ERR_INVALID_ARG;
    int64_t i = sori_gguf_find_key(g, key);
    if (i < 0)
        return SORI_ERR_NOT_FOUND;
    *e = &g->kv[i];
    return SORI_OK;
}

static int is_signed_int(uint32_t t)
{
    return t == SORI_GGUF_I8 || t == SORI_GGUF_I16 || t == SORI_GGUF_I32 || t == SORI_GGUF_I64;
}

static int is_unsigned_int(uint32_t t)
{
    return t == SORI_GGUF_U8 || t == SORI_GGUF_U16 || t == SORI_GGUF_U32 || t == SORI_GGUF_U64 ||
           t == SORI_GGUF_BOOL;
}

sori_status sori_gguf_get_int(const sori_gguf *g, const char *key, int64_t *out)
{
    const kv_entry *e;
    sori_status st = lookup(g, key, &e);
    if (st != SORI_OK || !out)
        return out ? st : SORI_ERR_INVALID_ARG;
    if (is_signed_int(e->type)) {
        *out = e->v.i;
        return SORI_OK;
    }
    if (is_unsigned_int(e->type)) {
        if (e->v.u > (uint64_t)INT64_MAX)
            return SORI_ERR_FORMAT;
        *out = (int64_t)e->v.u;
        return SORI_OK;
    }
    return SORI_ERR_FORMAT;
}

sori_status sori_gguf_get_float(const sori_gguf *g, const char *key, double *out)
{
    const kv_entry *e;
    sori_status st = lookup(g, key, &e);
    if (st != SORI_OK || !out)
        return out ? st : SORI_ERR_INVALID_ARG;
    if (e->type == SORI_GGUF_F32 || e->type == SORI_GGUF_F64)
        *out = e->v.f;
    else if (is_signed_int(e->type))
        *out = (double)e->v.i;
    else if (is_unsigned_int(e->type) && e->type != SORI_GGUF_BOOL)
        *out = (double)e->v.u;
    else
        return SORI_ERR_FORMAT;
    return SORI_OK;
}

sori_status sori_gguf_get_bool(const sori_gguf *g, const char *key, bool *out)
{
    const kv_entry *e;
    sori_status st = lookup(g, key, &e);
    if (st != SORI_OK || !out)
        return out ? st : SORI_ERR_INVALID_ARG;
    if (e->type != SORI_GGUF_BOOL)
        return SORI_ERR_FORMAT;
    *out = e->v.u != 0;
    return SORI_OK;
}

sori_status sori_gguf_get_str(const sori_gguf *g, const char *key, const char **out)
{
    const kv_entry *e;
    sori_status st = lookup(g, key, &e);
    if (st != SORI_OK || !out)
        return out ? st : SORI_ERR_INVALID_ARG;
    if (e->type != SORI_GGUF_STRING)
        return SORI_ERR_FORMAT;
    *out = e->v.s;
    return SORI_OK;
}

sori_status sori_gguf_get_arr_info(const sori_gguf *g, const char *key, sori_gguf_type *elem_type,
                                   uint64_t *n)
{
    const kv_entry *e;
    sori_status st = lookup(g, key, &e);
    if (st != SORI_OK)
        return st;
    if (e->type != SORI_GGUF_ARRAY)
        return SORI_ERR_FORMAT;
    if (elem_type)
        *elem_type = (sori_gguf_type)e->elem_type;
    if (n)
        *n = e->n;
    return SORI_OK;
}

static double raw_at(const kv_entry *e, uint64_t i, int *is_float)
{
    const uint8_t *p = e->raw + i * scalar_size(e->elem_type);
    *is_float = 0;
    switch (e->elem_type) {
    case SORI_GGUF_U8:
    case SORI_GGUF_BOOL: return p[0];
    case SORI_GGUF_I8: return (int8_t)p[0];
    case SORI_GGUF_U16: { uint16_t x; memcpy(&x, p, 2); return x; }
    case SORI_GGUF_I16: { int16_t x; memcpy(&x, p, 2); return x; }
    case SORI_GGUF_U32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case SORI_GGUF_I32: { int32_t x; memcpy(&x, p, 4); return x; }
    case SORI_GGUF_F32: { float x; memcpy(&x, p, 4); *is_float = 1; return x; }
    case SORI_GGUF_F64: { double x; memcpy(&x, p, 8); *is_float = 1; return x; }
    default: return 0;
    }
}

sori_status sori_gguf_get_arr_f32(const sori_gguf *g, const char *key, float *out, uint64_t n)
{
    const kv_entry *e;
    sori_status st = lookup(g, key, &e);
    if (st != SORI_OK)
        return st;
    if (e->type != SORI_GGUF_ARRAY || !e->raw || e->elem_type == SORI_GGUF_U64 ||
        e->elem_type == SORI_GGUF_I64)
        return SORI_ERR_FORMAT;
    if (n != e->n || (n && !out))
        return SORI_ERR_INVALID_ARG;
    int f;
    for (uint64_t i = 0; i < n; i++)
        out[i] = (float)raw_at(e, i, &f);
    return SORI_OK;
}

sori_status sori_gguf_get_arr_i64(const sori_gguf *g, const char *key, int64_t *out, uint64_t n)
{
    const kv_entry *e;
    sori_status st = lookup(g, key, &e);
    if (st != SORI_OK)
        return st;
    if (e->type != SORI_GGUF_ARRAY || !e->raw || e->elem_type == SORI_GGUF_F32 ||
        e->elem_type == SORI_GGUF_F64)
        return SORI_ERR_FORMAT;
    if (n != e->n || (n && !out))
        return SORI_ERR_INVALID_ARG;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *p = e->raw + i * 8;
        if (e->elem_type == SORI_GGUF_I64) {
            memcpy(&out[i], p, 8);
        } else if (e->elem_type == SORI_GGUF_U64) {
            uint64_t u;
            memcpy(&u, p, 8);
            if (u > (uint64_t)INT64_MAX)
                return SORI_ERR_FORMAT;
            out[i] = (int64_t)u;
        } else {
            int f;
            out[i] = (int64_t)raw_at(e, i, &f);
        }
    }
    return SORI_OK;
}

sori_status sori_gguf_get_arr_str(const sori_gguf *g, const char *key, uint64_t i, const char **out)
{
    const kv_entry *e;
    sori_status st = lookup(g, key, &e);
    if (st != SORI_OK)
        return st;
    if (!out)
        return SORI_ERR_INVALID_ARG;
    if (e->type != SORI_GGUF_ARRAY || e->elem_type != SORI_GGUF_STRING)
        return SORI_ERR_FORMAT;
    if (i >= e->n)
        return SORI_ERR_INVALID_ARG;
    *out = e->strs[i];
    return SORI_OK;
}

const sori_gguf_tensor *sori_gguf_tensor_at(const sori_gguf *g, int64_t i)
{
    return g && i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const sori_gguf_tensor *sori_gguf_find_tensor(const sori_gguf *g, const char *name)
{
    if (!g || !name)
        return NULL;
    for (int64_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0)
            return &g->tensors[i];
    return NULL;
}

/* ---- writer -------------------------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} buf_t;

static void put(buf_t *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void pad_to(buf_t *b, uint32_t alignment)
{
    static const uint8_t zeros[64] = {0};
    size_t pad = (alignment - b->n % alignment) % alignment;
    while (pad && !b->oom) {
        size_t k = pad < sizeof zeros ? pad : sizeof zeros;
        put(b, zeros, k);
        pad -= k;
    }
}

static void put_str(buf_t *b, const char *s)
{
    uint64_t len = strlen(s);
    put(b, &len, 8);
    put(b, s, (size_t)len);
}

typedef struct {
    char *name;
    uint32_t type;
    int n_dims;
    int64_t ne[SORI_GGUF_MAX_DIMS];
    void *data;
    size_t n_bytes;
} w_tensor;

struct sori_gguf_writer {
    buf_t kv;      /* serialized key-value pairs */
    int64_t n_kv;
    char **keys;
    int64_t keys_cap;
    w_tensor *tensors;
    int64_t n_tensors, tensors_cap;
    uint32_t alignment;
};

sori_status sori_gguf_writer_create(sori_gguf_writer **out)
{
    if (!out)
        return SORI_ERR_INVALID_ARG;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return SORI_ERR_NO_MEMORY;
    (*out)->alignment = SORI_GGUF_DEFAULT_ALIGNMENT;
    return SORI_OK;
}

void sori_gguf_writer_free(sori_gguf_writer *w)
{
    if (!w)
        return;
    free(w->kv.p);
    for (int64_t i = 0; i < w->n_kv; i++)
        free(w->keys[i]);
    free(w->keys);
    for (int64_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->tensors);
    free(w);
}

static sori_status add_key(sori_gguf_writer *w, const char *key)
{
    if (!key || !key[0])
        return SORI_ERR_INVALID_ARG;
    for (int64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0)
            return SORI_ERR_INVALID_ARG;
    if (w->n_kv == w->keys_cap) {
        int64_t cap = w->keys_cap ? 2 * w->keys_cap : 16;
        char **k = realloc(w->keys, (size_t)cap * sizeof *k);
        if (!k)
            return SORI_ERR_NO_MEMORY;
        w->keys = k;
        w->keys_cap = cap;
    }
    char *copy = strdup(key);
    if (!copy)
        return SORI_ERR_NO_MEMORY;
    w->keys[w->n_kv++] = copy;
    put_str(&w->kv, key);
    return SORI_OK;
}

sori_status sori_gguf_writer_set(sori_gguf_writer *w, const char *key, sori_gguf_type type,
                                 const void *value)
{
    if (!w || !value)
        return SORI_ERR_INVALID_ARG;
    if (type == SORI_GGUF_STRING)
        return sori_gguf_writer_set_str(w, key, *(const char *const *)value);
    size_t es = scalar_size(type);
    if (!es)
        return SORI_ERR_INVALID_ARG;
    if (strcmp(key ? key : "", "general.alignment") == 0)
        return SORI_ERR_INVALID_ARG; /* use sori_gguf_writer_set_alignment */
    sori_status st = add_key(w, key);
    if (st != SORI_OK)
        return st;
    uint32_t t = (uint32_t)type;
    put(&w->kv, &t, 4);
    put(&w->kv, value, es);
    return w->kv.oom ? SORI_ERR_NO_MEMORY : SORI_OK;
}

sori_status sori_gguf_writer_set_str(sori_gguf_writer *w, const char *key, const char *value)
{
    if (!w || !value)
        return SORI_ERR_INVALID_ARG;
    sori_status st = add_key(w, key);
    if (st != SORI_OK)
        return st;
    uint32_t t = SORI_GGUF_STRING;
    put(&w->kv, &t, 4);
    put_str(&w->kv, value);
    return w->kv.oom ? SORI_ERR_NO_MEMORY : SORI_OK;
}

sori_status sori_gguf_writer_set_arr(sori_gguf_writer *w, const char *key, sori_gguf_type elem_type,
                                     const void *values, uint64_t n)
{
    if (!w || (n && !values))
        return SORI_ERR_INVALID_ARG;
    size_t es = scalar_size(elem_type);
    if (!es && elem_type != SORI_GGUF_STRING)
        return SORI_ERR_INVALID_ARG;
    if (elem_type == SORI_GGUF_STRING)
        for (uint64_t i = 0; i < n; i++)
            if (!((const char *const *)values)[i])
                return SORI_ERR_INVALID_ARG;
    sori_status st = add_key(w, key);
    if (st != SORI_OK)
        return st;
    uint32_t t = SORI_GGUF_ARRAY, et = (uint32_t)elem_type;
    put(&w->kv, &t, 4);
    put(&w->kv, &et, 4);
    put(&w->kv, &n, 8);
    if (elem_type == SORI_GGUF_STRING)
        for (uint64_t i = 0; i < n; i++)
            put_str(&w->kv, ((const char *const *)values)[i]);
    else
        put(&w->kv, values, (size_t)n * es);
    return w->kv.oom ? SORI_ERR_NO_MEMORY : SORI_OK;
}

sori_status sori_gguf_writer_set_alignment(sori_gguf_writer *w, uint32_t alignment)
{
    if (!w || alignment == 0 || (alignment & (alignment - 1)) || alignment > 65536)
        return SORI_ERR_INVALID_ARG;
    w->alignment = alignment;
    return SORI_OK;
}

sori_status sori_gguf_writer_add_tensor(sori_gguf_writer *w, const char *name, uint32_t type,
                                        int n_dims, const int64_t *ne, const void *data)
{
    if (!w || !name || !name[0] || !ne || !data || n_dims < 1 || n_dims > SORI_GGUF_MAX_DIMS)
        return SORI_ERR_INVALID_ARG;
    if (!type_info(type))
        return SORI_ERR_INVALID_ARG;
    for (int64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return SORI_ERR_INVALID_ARG;
    int64_t n_el = 1;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 1 || ne[d] > INT64_MAX / n_el)
            return SORI_ERR_INVALID_ARG;
        n_el *= ne[d];
    }
    size_t row = sori_ggml_row_size(type, ne[0]);
    if (!row)
        return SORI_ERR_INVALID_ARG;
    size_t n_bytes = row * (size_t)(n_el / ne[0]);
    if (w->n_tensors == w->tensors_cap) {
        int64_t cap = w->tensors_cap ? 2 * w->tensors_cap : 16;
        w_tensor *t = realloc(w->tensors, (size_t)cap * sizeof *t);
        if (!t)
            return SORI_ERR_NO_MEMORY;
        w->tensors = t;
        w->tensors_cap = cap;
    }
    w_tensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->data = malloc(n_bytes);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return SORI_ERR_NO_MEMORY;
    }
    memcpy(t->data, data, n_bytes);
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < n_dims; d++)
        t->ne[d] = ne[d];
    t->n_bytes = n_bytes;
    w->n_tensors++;
    return SORI_OK;
}

sori_status sori_gguf_writer_to_memory(sori_gguf_writer *w, void **data, size_t *size,
                                       sori_error *err)
{
    if (!w || !data || !size)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "gguf writer: NULL argument");
    *data = NULL;
    *size = 0;
    if (w->kv.oom)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "gguf writer: out of memory");
    buf_t b = {0};
    uint32_t version = 3;
    uint64_t n_tensors = (uint64_t)w->n_tensors;
    uint64_t n_kv = (uint64_t)w->n_kv + (w->alignment != SORI_GGUF_DEFAULT_ALIGNMENT);
    put(&b, "GGUF", 4);
    put(&b, &version, 4);
    put(&b, &n_tensors, 8);
    put(&b, &n_kv, 8);
    put(&b, w->kv.p, w->kv.n);
    if (w->alignment != SORI_GGUF_DEFAULT_ALIGNMENT) {
        uint32_t t = SORI_GGUF_U32;
        put_str(&b, "general.alignment");
        put(&b, &t, 4);
        put(&b, &w->alignment, 4);
    }
    uint64_t offset = 0;
    for (int64_t i = 0; i < w->n_tensors; i++) {
        const w_tensor *t = &w->tensors[i];
        uint32_t nd = (uint32_t)t->n_dims;
        put_str(&b, t->name);
        put(&b, &nd, 4);
        for (int d = 0; d < t->n_dims; d++) {
            uint64_t ne = (uint64_t)t->ne[d];
            put(&b, &ne, 8);
        }
        put(&b, &t->type, 4);
        put(&b, &offset, 8);
        offset += (t->n_bytes + w->alignment - 1) / w->alignment * w->alignment;
    }
    pad_to(&b, w->alignment);
    for (int64_t i = 0; i < w->n_tensors; i++) {
        put(&b, w->tensors[i].data, w->tensors[i].n_bytes);
        if (i + 1 < w->n_tensors)
            pad_to(&b, w->alignment);
    }
    if (b.oom) {
        free(b.p);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "gguf writer: out of memory");
    }
    *data = b.p;
    *size = b.n;
    return SORI_OK;
}

sori_status sori_gguf_writer_to_file(sori_gguf_writer *w, const char *path, sori_error *err)
{
    if (!path)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "gguf writer: path is NULL");
    void *data;
    size_t size;
    sori_status st = sori_gguf_writer_to_memory(w, &data, &size, err);
    if (st != SORI_OK)
        return st;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(data);
        return sori_fail(err, SORI_ERR_IO, errno, "%s: cannot create: %s", path, strerror(errno));
    }
    size_t wrote = fwrite(data, 1, size, f);
    int close_failed = fclose(f) != 0;
    free(data);
    if (wrote != size || close_failed)
        return sori_fail(err, SORI_ERR_IO, errno, "%s: write failed", path);
    return SORI_OK;
}
