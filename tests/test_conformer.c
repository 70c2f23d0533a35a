/* Golden parity of the Conformer encoder and CTC head with NeMo
 * (tools/gen_conformer_fixtures.py): models with every parameter and
 * buffer randomized, converted by tools/nemo_to_gguf.py; NeMo's features
 * in, encoder outputs and log-probs compared at relative L2 <= 1e-4 and
 * max-abs <= 1e-3 (f32, CPU), greedy CTC tokens equal wherever NeMo's
 * top-1 margin exceeds 1e-3. Items of a padded NeMo batch are run alone. */
#include <math.h>
#include <string.h>

#include <unistd.h>

#include "asr/conformer.h"
#include "check.h"
#include "kernels/gguf.h"
#include "kernels/reference.h"

static float *read_f32(const char *name, int64_t *n)
{
    return read_f32_fixture(n, "%s/conformer/%s", SORI_FIXTURE_DIR, name);
}

/* The items of NeMo's padded batch (full signal, its first 60 %), plus the
 * full one again, as one padded batch of three: each item must still match
 * NeMo (padding masks in the subsampling, attention and convolution). */
static void test_batch(sori_runtime *rt, const char *model)
{
    char path[512], name[256];
    snprintf(path, sizeof path, "%s/conformer/%s.gguf", SORI_FIXTURE_DIR, model);
    sori_conformer *m = NULL;
    sori_error err = {0};
    if (sori_conformer_load(rt, path, &m, &err) != SORI_OK)
        return;
    sori_conformer_info in = sori_conformer_get_info(m);
    const char *tags[3] = {"", ".b1", ""};
    const float *feats[3];
    int64_t frames[3], n;
    float *enc[3], *lp[3], *enc_ref[3], *lp_ref[3];
    for (int b = 0; b < 3; b++) {
        snprintf(name, sizeof name, "%s%s.feats.f32", model, tags[b]);
        float *f = read_f32(name, &n);
        feats[b] = f;
        frames[b] = n / in.feat_in;
        snprintf(name, sizeof name, "%s%s.enc.f32", model, tags[b]);
        enc_ref[b] = read_f32(name, &n);
        snprintf(name, sizeof name, "%s%s.logp.f32", model, tags[b]);
        lp_ref[b] = read_f32(name, &n);
        int64_t T = sori_conformer_out_frames(m, frames[b]);
        enc[b] = malloc((size_t)(T * in.d_model) * 4);
        lp[b] = malloc((size_t)(T * (in.vocab_size + 1)) * 4);
    }
    CHECK_STATUS(sori_conformer_forward_batch(m, 3, feats, frames, enc, lp, &err), SORI_OK);
    for (int b = 0; b < 3; b++) {
        int64_t T = sori_conformer_out_frames(m, frames[b]);
        double rel, mx, rel2, mx2;
        sori_compare(enc[b], enc_ref[b], T * in.d_model, &rel, &mx);
        sori_compare(lp[b], lp_ref[b], T * (in.vocab_size + 1), &rel2, &mx2);
        CHECK(rel <= 1e-4 && mx <= 1e-3 && rel2 <= 1e-4 && mx2 <= 1e-3,
              "%s batch item %d: enc rel %.2e max %.2e, logp rel %.2e max %.2e", model, b, rel, mx, rel2, mx2);
        printf("  %-28s batch of 3, item %d: enc rel %.2e | logp rel %.2e\n", model, b, rel, rel2);
        free((void *)feats[b]);
        free(enc[b]);
        free(lp[b]);
        free(enc_ref[b]);
        free(lp_ref[b]);
    }
    sori_conformer_free(m);
}

/* A copy of a model file with one tensor dropped (drop) or cut short
 * (shrink): loading must fail with SORI_ERR_FORMAT naming the tensor. */
static void broken_copy(const char *src, const char *dst, const char *victim, int shrink)
{
    sori_gguf *g = NULL;
    sori_gguf_writer *w = NULL;
    if (sori_gguf_open_file(src, &g, NULL) != SORI_OK || sori_gguf_writer_create(&w) != SORI_OK)
        return;
    for (int64_t i = 0; i < sori_gguf_n_kv(g); i++) {
        const char *k = sori_gguf_kv_key(g, i);
        sori_gguf_type t = sori_gguf_kv_type(g, i);
        int64_t iv;
        double fv;
        bool bv;
        const char *sv;
        if (t == SORI_GGUF_STRING && sori_gguf_get_str(g, k, &sv) == SORI_OK)
            sori_gguf_writer_set_str(w, k, sv);
        else if (t == SORI_GGUF_BOOL && sori_gguf_get_bool(g, k, &bv) == SORI_OK) {
            uint8_t b = bv;
            sori_gguf_writer_set(w, k, SORI_GGUF_BOOL, &b);
        } else if ((t == SORI_GGUF_F32 || t == SORI_GGUF_F64) && sori_gguf_get_float(g, k, &fv) == SORI_OK) {
            float f = (float)fv;
            sori_gguf_writer_set(w, k, SORI_GGUF_F32, &f);
        } else if (t == SORI_GGUF_ARRAY) {
            uint64_t n = 0;
            sori_gguf_get_arr_info(g, k, NULL, &n);
            const char **v = calloc(n ? n : 1, sizeof(char *));
            for (uint64_t j = 0; j < n; j++)
                sori_gguf_get_arr_str(g, k, j, &v[j]);
            sori_gguf_writer_set_arr(w, k, SORI_GGUF_STRING, v, n);
            free(v);
        } else if (sori_gguf_get_int(g, k, &iv) == SORI_OK) {
            sori_gguf_writer_set(w, k, SORI_GGUF_I64, &iv);
        }
    }
    for (int64_t i = 0; i < sori_gguf_n_tensors(g); i++) {
        const sori_gguf_tensor *t = sori_gguf_tensor_at(g, i);
        int64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        if (strcmp(t->name, victim) == 0) {
            if (!shrink)
                continue;
            ne[0] -= 1;
        }
        sori_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, ne, t->data);
    }
    sori_gguf_writer_to_file(w, dst, NULL);
    sori_gguf_writer_free(w);
    sori_gguf_free(g);
}

static void test_broken_models(sori_runtime *rt)
{
    char src[512], dst[] = "/tmp/sori_broken_model_XXXXXX";
    snprintf(src, sizeof src, "%s/conformer/ctc_striding4.gguf", SORI_FIXTURE_DIR);
    int fd = mkstemp(dst);
    if (fd < 0)
        return;
    close(fd);
    const char *victims[] = {"encoder.layers.1.self_attn.pos_bias_v", "encoder.pre_encode.out.weight",
                             "decoder.decoder_layers.0.bias"};
    for (int v = 0; v < 3; v++)
        for (int shrink = 0; shrink < 2; shrink++) {
            broken_copy(src, dst, victims[v], shrink);
            sori_conformer *m = NULL;
            sori_error err = {0};
            sori_status st = sori_conformer_load(rt, dst, &m, &err);
            CHECK(st == SORI_ERR_FORMAT && m == NULL && strstr(err.message, victims[v]),
                  "%s %s: status %d (%s)", victims[v], shrink ? "cut short" : "missing", st, err.message);
            sori_conformer_free(m);
        }
    /* truncated files */
    FILE *f = fopen(src, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bytes = malloc((size_t)n);
    if (fread(bytes, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    fclose(f);
    for (int k = 1; k < 8 && n; k++) {
        FILE *o = fopen(dst, "wb");
        fwrite(bytes, 1, (size_t)(n * k / 8), o);
        fclose(o);
        sori_conformer *m = NULL;
        sori_error err = {0};
        CHECK(sori_conformer_load(rt, dst, &m, &err) == SORI_ERR_FORMAT && !m, "truncated at %d/8: %s", k, err.message);
    }
    free(bytes);
    unlink(dst);
}

int main(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/conformer/manifest.tsv", SORI_FIXTURE_DIR);
    FILE *mf = fopen(path, "r");
    if (!mf)
        SKIP("conformer fixtures missing (tools/gen_conformer_fixtures.py)");
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.pool_bytes = 1 << 16;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    char tag[128], model[128];
    long long frames, out_frames, d, v;
    int cases = 0;
    while (fscanf(mf, "%127s %127s %lld %lld %lld %lld", tag, model, &frames, &out_frames, &d, &v) == 6) {
        snprintf(path, sizeof path, "%s/conformer/%s.gguf", SORI_FIXTURE_DIR, model);
        sori_conformer *m = NULL;
        CHECK_STATUS(sori_conformer_load(rt, path, &m, &err), SORI_OK);
        if (!m) {
            fprintf(stderr, "%s: %s\n", model, err.message);
            continue;
        }
        char name[200];
        int64_t nf, ne, nl;
        snprintf(name, sizeof name, "%s.feats.f32", tag);
        float *feats = read_f32(name, &nf);
        snprintf(name, sizeof name, "%s.enc.f32", tag);
        float *enc_ref = read_f32(name, &ne);
        snprintf(name, sizeof name, "%s.logp.f32", tag);
        float *lp_ref = read_f32(name, &nl);
        sori_conformer_info info = sori_conformer_get_info(m);
        CHECK(feats && enc_ref && lp_ref && nf == frames * info.feat_in, "%s: fixture sizes", tag);
        CHECK(sori_conformer_out_frames(m, frames) == out_frames, "%s: %lld frames out, NeMo %lld", tag,
              (long long)sori_conformer_out_frames(m, frames), out_frames);
        CHECK(info.d_model == d && info.vocab_size + 1 == v, "%s: shapes", tag);
        float *enc = malloc((size_t)(out_frames * d) * 4), *lp = malloc((size_t)(out_frames * v) * 4);
        CHECK_STATUS(sori_conformer_forward(m, feats, frames, enc, lp, &err), SORI_OK);
        double rel, mx, rel2, mx2;
        sori_compare(enc, enc_ref, out_frames * d, &rel, &mx);
        sori_compare(lp, lp_ref, out_frames * v, &rel2, &mx2);
        CHECK(rel <= 1e-4 && mx <= 1e-3, "%s: encoder rel %.2e max %.2e", tag, rel, mx);
        CHECK(rel2 <= 1e-4 && mx2 <= 1e-3, "%s: log-probs rel %.2e max %.2e", tag, rel2, mx2);
        int compared = 0, differ = 0;
        for (int64_t t = 0; t < out_frames; t++) {
            const float *r = lp_ref + t * v, *o = lp + t * v;
            int a = 0, b = 0, second = -1;
            for (int j = 1; j < v; j++) {
                if (r[j] > r[a])
                    a = j;
                if (o[j] > o[b])
                    b = j;
            }
            for (int j = 0; j < v; j++)
                if (j != a && (second < 0 || r[j] > r[second]))
                    second = j;
            if (r[a] - r[second] > 1e-3) {
                compared++;
                differ += a != b;
            }
        }
        CHECK(differ == 0, "%s: %d of %d greedy tokens differ", tag, differ, compared);
        printf("  %-28s enc rel %.2e max %.2e | logp rel %.2e max %.2e | tokens %d/%d\n", tag, rel, mx,
               rel2, mx2, compared - differ, compared);
        cases++;
        free(enc);
        free(lp);
        free(feats);
        free(enc_ref);
        free(lp_ref);
        sori_conformer_free(m);
    }
    fclose(mf);
    CHECK(cases >= 4, "only %d cases", cases);
    test_batch(rt, "ctc_striding4");
    test_batch(rt, "ctc_dw8_causal_conv");
    test_broken_models(rt);
    sori_runtime_free(rt);
    return check_finish("test_conformer");
}
