/* GGUF: a writer → reader round trip of every value type and several tensor
 * types, then corrupt files — truncated at every byte, absurd counts and
 * lengths, bad alignment, wrong and unknown types, duplicates, overlaps,
 * random mutations — each of which must give SORI_ERR_FORMAT (never a
 * crash; run under ASan/UBSan in CI). */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "kernels/gguf.h"
#include "kernels/opcheck.h"

static float g_w[3 * 5], g_big[64 * 2];
static uint16_t g_h[7];
static int32_t g_i[4] = {-1, 2, -3, 4};

static void *make_file(size_t *size, uint32_t alignment)
{
    sori_gguf_writer *w = NULL;
    CHECK_STATUS(sori_gguf_writer_create(&w), SORI_OK);
    uint8_t u8 = 200;
    int8_t i8 = -100;
    uint16_t u16 = 60000;
    int16_t i16 = -30000;
    uint32_t u32 = 4000000000u;
    int32_t i32 = -2000000000;
    float f32 = 0.25f;
    uint8_t b = 1;
    uint64_t u64 = 1ull << 40;
    int64_t i64 = -(1ll << 40);
    double f64 = 1e-300;
    CHECK_STATUS(sori_gguf_writer_set_str(w, "general.architecture", "sori.test"), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.u8", SORI_GGUF_U8, &u8), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.i8", SORI_GGUF_I8, &i8), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.u16", SORI_GGUF_U16, &u16), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.i16", SORI_GGUF_I16, &i16), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.u32", SORI_GGUF_U32, &u32), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.i32", SORI_GGUF_I32, &i32), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.f32", SORI_GGUF_F32, &f32), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.bool", SORI_GGUF_BOOL, &b), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.u64", SORI_GGUF_U64, &u64), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.i64", SORI_GGUF_I64, &i64), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.f64", SORI_GGUF_F64, &f64), SORI_OK);
    float arr[5] = {1, -2, 3.5f, 0, 1e30f};
    CHECK_STATUS(sori_gguf_writer_set_arr(w, "t.arr_f32", SORI_GGUF_F32, arr, 5), SORI_OK);
    int32_t iarr[3] = {7, -8, 9};
    CHECK_STATUS(sori_gguf_writer_set_arr(w, "t.arr_i32", SORI_GGUF_I32, iarr, 3), SORI_OK);
    const char *vocab[4] = {"<blank>", "가", "나다", "▁라"};
    CHECK_STATUS(sori_gguf_writer_set_arr(w, "t.vocab", SORI_GGUF_STRING, vocab, 4), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_set_arr(w, "t.empty", SORI_GGUF_U8, NULL, 0), SORI_OK);
    /* writer misuse */
    CHECK_STATUS(sori_gguf_writer_set(w, "t.u8", SORI_GGUF_U8, &u8), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_gguf_writer_set(w, "", SORI_GGUF_U8, &u8), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_gguf_writer_set(w, "t.x", SORI_GGUF_ARRAY, &u8), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_gguf_writer_set(w, "general.alignment", SORI_GGUF_U32, &u32), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_gguf_writer_set_alignment(w, 48), SORI_ERR_INVALID_ARG);
    if (alignment)
        CHECK_STATUS(sori_gguf_writer_set_alignment(w, alignment), SORI_OK);

    int64_t ne_w[2] = {5, 3}, ne_h[1] = {7}, ne_i[1] = {4}, ne_q[2] = {64, 1}, ne_big[2] = {64, 2};
    CHECK_STATUS(sori_gguf_writer_add_tensor(w, "tensor.w", SORI_GGML_F32, 2, ne_w, g_w), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_add_tensor(w, "tensor.h", SORI_GGML_F16, 1, ne_h, g_h), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_add_tensor(w, "tensor.i", SORI_GGML_I32, 1, ne_i, g_i), SORI_OK);
    uint8_t q8[2 * 34];
    memset(q8, 7, sizeof q8);
    CHECK_STATUS(sori_gguf_writer_add_tensor(w, "tensor.q", SORI_GGML_Q8_0, 2, ne_q, q8), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_add_tensor(w, "tensor.big", SORI_GGML_F32, 2, ne_big, g_big), SORI_OK);
    CHECK_STATUS(sori_gguf_writer_add_tensor(w, "tensor.w", SORI_GGML_F32, 2, ne_w, g_w), SORI_ERR_INVALID_ARG);
    int64_t bad_q[1] = {33};
    CHECK_STATUS(sori_gguf_writer_add_tensor(w, "tensor.badq", SORI_GGML_Q8_0, 1, bad_q, q8), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_gguf_writer_add_tensor(w, "tensor.t", 99, 1, ne_i, g_i), SORI_ERR_INVALID_ARG);

    void *data = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_gguf_writer_to_memory(w, &data, size, &err), SORI_OK);
    sori_gguf_writer_free(w);
    return data;
}

static void check_contents(const sori_gguf *g, uint32_t alignment)
{
    int64_t iv;
    double fv;
    bool bv;
    const char *s;
    CHECK(sori_gguf_version(g) == 3, "version");
    CHECK(sori_gguf_alignment(g) == (alignment ? alignment : 32), "alignment %u", sori_gguf_alignment(g));
    CHECK(sori_gguf_get_str(g, "general.architecture", &s) == SORI_OK && strcmp(s, "sori.test") == 0, "arch");
    CHECK(sori_gguf_get_int(g, "t.u8", &iv) == SORI_OK && iv == 200, "u8");
    CHECK(sori_gguf_get_int(g, "t.i8", &iv) == SORI_OK && iv == -100, "i8");
    CHECK(sori_gguf_get_int(g, "t.u16", &iv) == SORI_OK && iv == 60000, "u16");
    CHECK(sori_gguf_get_int(g, "t.i16", &iv) == SORI_OK && iv == -30000, "i16");
    CHECK(sori_gguf_get_int(g, "t.u32", &iv) == SORI_OK && iv == 4000000000ll, "u32");
    CHECK(sori_gguf_get_int(g, "t.i32", &iv) == SORI_OK && iv == -2000000000, "i32");
    CHECK(sori_gguf_get_float(g, "t.f32", &fv) == SORI_OK && fv == 0.25, "f32");
    CHECK(sori_gguf_get_bool(g, "t.bool", &bv) == SORI_OK && bv, "bool");
    CHECK(sori_gguf_get_int(g, "t.u64", &iv) == SORI_OK && iv == (1ll << 40), "u64");
    CHECK(sori_gguf_get_int(g, "t.i64", &iv) == SORI_OK && iv == -(1ll << 40), "i64");
    CHECK(sori_gguf_get_float(g, "t.f64", &fv) == SORI_OK && fv == 1e-300, "f64");
    /* wrong-type and missing lookups */
    CHECK_STATUS(sori_gguf_get_str(g, "t.u8", &s), SORI_ERR_FORMAT);
    CHECK_STATUS(sori_gguf_get_int(g, "t.f32", &iv), SORI_ERR_FORMAT);
    CHECK_STATUS(sori_gguf_get_bool(g, "t.u8", &bv), SORI_ERR_FORMAT);
    CHECK_STATUS(sori_gguf_get_int(g, "no.such.key", &iv), SORI_ERR_NOT_FOUND);
    CHECK_STATUS(sori_gguf_get_int(g, NULL, &iv), SORI_ERR_INVALID_ARG);

    sori_gguf_type et;
    uint64_t n;
    float arr[5];
    CHECK(sori_gguf_get_arr_info(g, "t.arr_f32", &et, &n) == SORI_OK && et == SORI_GGUF_F32 && n == 5, "arr info");
    CHECK(sori_gguf_get_arr_f32(g, "t.arr_f32", arr, 5) == SORI_OK && arr[2] == 3.5f && arr[4] == 1e30f, "arr f32");
    CHECK_STATUS(sori_gguf_get_arr_f32(g, "t.arr_f32", arr, 4), SORI_ERR_INVALID_ARG);
    int64_t ia[3];
    CHECK(sori_gguf_get_arr_i64(g, "t.arr_i32", ia, 3) == SORI_OK && ia[1] == -8, "arr i32");
    CHECK_STATUS(sori_gguf_get_arr_i64(g, "t.arr_f32", ia, 5), SORI_ERR_FORMAT);
    CHECK(sori_gguf_get_arr_str(g, "t.vocab", 3, &s) == SORI_OK && strcmp(s, "▁라") == 0, "vocab");
    CHECK_STATUS(sori_gguf_get_arr_str(g, "t.vocab", 4, &s), SORI_ERR_INVALID_ARG);
    CHECK(sori_gguf_get_arr_info(g, "t.empty", &et, &n) == SORI_OK && n == 0, "empty array");

    CHECK(sori_gguf_n_tensors(g) == 5, "n_tensors %lld", (long long)sori_gguf_n_tensors(g));
    const sori_gguf_tensor *t = sori_gguf_find_tensor(g, "tensor.w");
    CHECK(t && t->type == SORI_GGML_F32 && t->n_dims == 2 && t->ne[0] == 5 && t->ne[1] == 3 &&
              t->n_bytes == sizeof g_w && memcmp(t->data, g_w, sizeof g_w) == 0,
          "tensor.w");
    t = sori_gguf_find_tensor(g, "tensor.h");
    CHECK(t && t->type == SORI_GGML_F16 && memcmp(t->data, g_h, sizeof g_h) == 0, "tensor.h");
    t = sori_gguf_find_tensor(g, "tensor.i");
    CHECK(t && t->type == SORI_GGML_I32 && memcmp(t->data, g_i, sizeof g_i) == 0, "tensor.i");
    t = sori_gguf_find_tensor(g, "tensor.q");
    CHECK(t && t->n_bytes == 68 && t->n_elements == 64, "tensor.q");
    t = sori_gguf_find_tensor(g, "tensor.big");
    CHECK(t && memcmp(t->data, g_big, sizeof g_big) == 0, "tensor.big");
    for (int64_t i = 0; i < sori_gguf_n_tensors(g); i++) {
        t = sori_gguf_tensor_at(g, i);
        CHECK(((uintptr_t)t->data - (uintptr_t)sori_gguf_tensor_at(g, 0)->data) %
                      sori_gguf_alignment(g) == 0,
              "tensor %s not aligned", t->name);
    }
    CHECK(sori_gguf_find_tensor(g, "nope") == NULL, "missing tensor");
}

/* Expect a corrupt buffer to be refused with SORI_ERR_FORMAT and a message. */
static void expect_format(const void *data, size_t size, const char *what)
{
    sori_gguf *g = NULL;
    sori_error err = {0};
    sori_status st = sori_gguf_open_memory(data, size, &g, &err);
    CHECK(st == SORI_ERR_FORMAT && g == NULL && err.message[0], "%s: status %d (%s)", what, st,
          err.message);
    sori_gguf_free(g);
}

static uint8_t *find(uint8_t *buf, size_t size, const char *needle)
{
    return memmem(buf, size, needle, strlen(needle));
}

/* After a tensor's name string: u32 n_dims, u64 ne[n_dims], u32 type, u64 offset */
static uint8_t *tensor_info(uint8_t *buf, size_t size, const char *name)
{
    uint8_t *p = find(buf, size, name);
    return p ? p + strlen(name) : NULL;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int main(void)
{
    uint64_t seed = test_seed("test_gguf");
    sori_rng rng;
    sori_rng_seed(&rng, seed);
    sori_rng_fill(&rng, g_w, 15, -1, 1);
    sori_rng_fill(&rng, g_big, 128, -1, 1);
    for (int i = 0; i < 7; i++)
        g_h[i] = sori_f32_to_f16(sori_rng_uniform(&rng, -1, 1));

    for (int pass = 0; pass < 2; pass++) {
        uint32_t alignment = pass ? 64 : 0;
        size_t size = 0;
        uint8_t *file = make_file(&size, alignment);
        if (!file)
            return check_finish("test_gguf");
        sori_gguf *g = NULL;
        sori_error err = {0};
        CHECK_STATUS(sori_gguf_open_memory(file, size, &g, &err), SORI_OK);
        if (g)
            check_contents(g, alignment);
        sori_gguf_free(g);

        /* through a file (mmap) as well */
        char path[] = "/tmp/sori_test_gguf_XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0 && write(fd, file, size) == (ssize_t)size, "temp file");
        close(fd);
        g = NULL;
        CHECK_STATUS(sori_gguf_open_file(path, &g, &err), SORI_OK);
        if (g)
            check_contents(g, alignment);
        sori_gguf_free(g);
        unlink(path);

        /* truncated at every byte */
        int trunc_ok = 1;
        for (size_t n = 0; n < size; n++) {
            sori_gguf *t = NULL;
            sori_status st = sori_gguf_open_memory(file, n, &t, NULL);
            if (st != SORI_ERR_FORMAT || t) {
                trunc_ok = 0;
                fprintf(stderr, "truncation at %zu of %zu: status %d\n", n, size, st);
            }
            sori_gguf_free(t);
        }
        CHECK(trunc_ok, "every truncation refused with SORI_ERR_FORMAT");

        /* targeted corruptions, each on a fresh copy */
        uint8_t *c = malloc(size);
#define MUTATE(what, stmt)                                                                         \
    do {                                                                                           \
        memcpy(c, file, size);                                                                     \
        stmt;                                                                                      \
        expect_format(c, size, what);                                                              \
    } while (0)
        MUTATE("bad magic", c[0] = 'X');
        MUTATE("version 1", put32(c + 4, 1));
        MUTATE("version 4", put32(c + 4, 4));
        MUTATE("big-endian", put32(c + 4, 0x03000000u));
        MUTATE("absurd tensor count", put64(c + 8, 1ull << 60));
        MUTATE("absurd key count", put64(c + 16, 1ull << 60));
        MUTATE("tensor count too high", put64(c + 8, 6));
        MUTATE("absurd key length", put64(c + 24, 1ull << 62));
        MUTATE("key length past the end", put64(c + 24, size));
        MUTATE("unknown value type", put32(find(c, size, "t.u8") + 4, 99));
        MUTATE("bool value 2", c[find(c, size, "t.bool") - c + 6 + 4] = 2);
        MUTATE("unknown array type", put32(find(c, size, "t.arr_f32") + 9 + 4, 99));
        MUTATE("nested array", put32(find(c, size, "t.arr_f32") + 9 + 4, SORI_GGUF_ARRAY));
        MUTATE("absurd array length", put64(find(c, size, "t.arr_f32") + 9 + 8, 1ull << 61));
        MUTATE("absurd string array length", put64(find(c, size, "t.vocab") + 7 + 8, 1ull << 61));
        MUTATE("duplicate key", memcpy(find(c, size, "t.i16"), "t.u16", 5));
        MUTATE("empty key", put64(c + 24, 0));
        MUTATE("n_dims 0", put32(tensor_info(c, size, "tensor.w"), 0));
        MUTATE("n_dims 5", put32(tensor_info(c, size, "tensor.w"), 5));
        MUTATE("dimension 0", put64(tensor_info(c, size, "tensor.w") + 4, 0));
        MUTATE("dimension overflow", (put64(tensor_info(c, size, "tensor.w") + 4, 1ull << 62),
                                      put64(tensor_info(c, size, "tensor.w") + 12, 1ull << 62)));
        MUTATE("huge dimension", put64(tensor_info(c, size, "tensor.w") + 4, 1ull << 40));
        MUTATE("unknown tensor type", put32(tensor_info(c, size, "tensor.w") + 20, 99));
        MUTATE("q8_0 row not a block multiple", put64(tensor_info(c, size, "tensor.q") + 4, 33));
        MUTATE("unaligned offset", put64(tensor_info(c, size, "tensor.h") + 12 + 4, 4));
        MUTATE("offset past the end", put64(tensor_info(c, size, "tensor.h") + 12 + 4, 1ull << 40));
        MUTATE("overlapping tensors", put64(tensor_info(c, size, "tensor.h") + 12 + 4, 0));
        MUTATE("duplicate tensor name", memcpy(find(c, size, "tensor.h"), "tensor.i", 8));
        if (alignment) {
            MUTATE("alignment 0", put32(find(c, size, "general.alignment") + 17 + 4, 0));
            MUTATE("alignment 48", put32(find(c, size, "general.alignment") + 17 + 4, 48));
            MUTATE("alignment as a string", put32(find(c, size, "general.alignment") + 17, SORI_GGUF_STRING));
        }
#undef MUTATE
        /* random byte mutations: any status is fine, a crash or leak is not */
        int n_ok = 0, n_err = 0;
        for (int i = 0; i < 3000; i++) {
            memcpy(c, file, size);
            int flips = sori_rng_int(&rng, 1, 4);
            for (int f = 0; f < flips; f++)
                c[sori_rng_next(&rng) % size] = (uint8_t)sori_rng_next(&rng);
            sori_gguf *t = NULL;
            sori_status st = sori_gguf_open_memory(c, size, &t, NULL);
            if (st == SORI_OK) {
                n_ok++;
                /* whatever parsed must be within the buffer */
                for (int64_t k = 0; k < sori_gguf_n_tensors(t); k++) {
                    const sori_gguf_tensor *tt = sori_gguf_tensor_at(t, k);
                    CHECK((const uint8_t *)tt->data >= c &&
                              (const uint8_t *)tt->data + tt->n_bytes <= c + size,
                          "tensor outside the buffer");
                }
            } else {
                n_err++;
                CHECK(st == SORI_ERR_FORMAT || st == SORI_ERR_NO_MEMORY, "random mutation: status %d", st);
            }
            sori_gguf_free(t);
        }
        printf("random mutations: %d parsed, %d refused\n", n_ok, n_err);
        free(c);
        free(file);
    }

    /* files that are not there, not regular, or empty */
    sori_gguf *g = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_gguf_open_file("/nonexistent/model.gguf", &g, &err), SORI_ERR_IO);
    CHECK(strstr(err.message, "/nonexistent/model.gguf") != NULL, "message names the file: %s", err.message);
    CHECK_STATUS(sori_gguf_open_file("/tmp", &g, &err), SORI_ERR_IO);
    char path[] = "/tmp/sori_test_empty_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_STATUS(sori_gguf_open_file(path, &g, &err), SORI_ERR_FORMAT);
    unlink(path);
    CHECK_STATUS(sori_gguf_open_memory(NULL, 10, &g, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_gguf_open_memory("GGUF", 4, NULL, &err), SORI_ERR_INVALID_ARG);
    sori_gguf_free(NULL);
    sori_gguf_writer_free(NULL);
    return check_finish("test_gguf");
}
