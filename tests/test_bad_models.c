/* Hostile model files: the golden fixture models with one hyper-parameter
 * set to 0, -2, a huge value, a value of the wrong type or one that
 * disagrees with the tensors (and a few options and feature settings) must
 * each be refused by sori_asr_model_load with the expected status and a
 * message naming the key; none may crash (this test also runs under
 * ASan/UBSan). The file that crashed `sori transcribe` with SIGFPE
 * (att_context_left -1 -> 253 in a regular-attention model, which divided by
 * att_context_right + 1 = 0) is a valid model: it must load and run, and as
 * 253 frames of left context cover the whole test signal, give the
 * unmodified model's output.
 *
 *   test_bad_models                 the checks
 *   test_bad_models --write DIR     writes DIR/NN.gguf and DIR/list.tsv
 *                                   (file, key), and the crafted model as
 *                                   DIR/sigfpe_left253.gguf, for the CLI test */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "asr/conformer.h"
#include "check.h"
#include "gguf_edit.h"
#include "sori/asr.h"
#include "whisper_rand.h"

/* WHISPER is made in memory: a random-weight Whisper with a small vocabulary */
enum { CTC4, DW8, HYBRID, WHISPER, N_FIXTURES };
static const char *fixture_path[N_FIXTURES] = {"conformer/ctc_striding4.gguf", "conformer/ctc_dw8_causal_conv.gguf",
                                               "stream/hybrid_stream.gguf", NULL};

#define C(k) "sori.conformer." k
#define W(k) "sori.whisper." k
#define SHAPE2(t, a, b) {.kind = GGUF_EDIT_SHAPE, .name = t, .n_dims = 2, .ne = {a, b, 1, 1}}
#define DROP(t) {.kind = GGUF_EDIT_DROP, .name = t}
#define I(k, v) {.kind = GGUF_EDIT_INT, .name = k, .i = (v)}
#define I64(k, v) {.kind = GGUF_EDIT_INT, .name = k, .type = SORI_GGUF_I64, .i = (v)}
#define F(k, v) {.kind = GGUF_EDIT_FLOAT, .name = k, .f = (v)}
#define S(k, v) {.kind = GGUF_EDIT_STR, .name = k, .s = (v)}
#define DEL(k) {.kind = GGUF_EDIT_REMOVE, .name = k}
#define HUGE_VAL64 ((int64_t)1 << 40)

typedef struct {
    int fixture;
    gguf_edit edit[2];
    int n_edits;
    sori_status want;
    const char *key; /* the message must name it */
} bad_case;

#define ONE(fx, e, st, key) {fx, {e}, 1, st, key}
#define FMT SORI_ERR_FORMAT
#define UNS SORI_ERR_UNSUPPORTED
static const bad_case cases[] = {
    /* sizes: 0, -2, huge, inconsistent with the tensors */
    ONE(CTC4, I(C("feat_in"), 0), FMT, C("feat_in")),
    ONE(CTC4, I64(C("feat_in"), -2), FMT, C("feat_in")),
    ONE(CTC4, I(C("feat_in"), 100000), FMT, C("feat_in")),
    ONE(CTC4, I(C("feat_in"), 64), FMT, C("feat_in")),
    ONE(CTC4, I(C("d_model"), 0), FMT, C("d_model")),
    ONE(CTC4, I64(C("d_model"), -2), FMT, C("d_model")),
    ONE(CTC4, I64(C("d_model"), HUGE_VAL64), FMT, C("d_model")),
    ONE(CTC4, I(C("d_model"), 128), FMT, C("d_model")),
    ONE(CTC4, I(C("n_layers"), 0), FMT, C("n_layers")),
    ONE(CTC4, I64(C("n_layers"), -2), FMT, C("n_layers")),
    ONE(CTC4, I(C("n_layers"), 4000000000u), FMT, C("n_layers")),
    ONE(CTC4, I(C("n_layers"), 3), FMT, C("n_layers")),
    ONE(CTC4, I(C("n_layers"), 1), FMT, C("n_layers")),
    ONE(CTC4, I(C("n_heads"), 0), FMT, C("n_heads")),
    ONE(CTC4, I(C("n_heads"), 3), FMT, C("n_heads")),
    ONE(CTC4, I(C("n_heads"), 8), FMT, C("n_heads")),
    ONE(CTC4, I(C("n_heads"), 100000), FMT, C("n_heads")),
    ONE(CTC4, I(C("ff_expansion_factor"), 0), FMT, C("ff_expansion_factor")),
    ONE(CTC4, I(C("ff_expansion_factor"), 2), FMT, C("ff_expansion_factor")),
    ONE(CTC4, I(C("ff_expansion_factor"), 1000000), FMT, C("ff_expansion_factor")),
    ONE(CTC4, I(C("subsampling_factor"), 0), FMT, C("subsampling_factor")),
    ONE(CTC4, I(C("subsampling_factor"), 2), UNS, C("subsampling_factor")),
    ONE(CTC4, I(C("subsampling_factor"), 8), FMT, C("subsampling_factor")),
    ONE(DW8, I(C("subsampling_factor"), 4), FMT, C("subsampling_factor")),
    ONE(CTC4, I(C("subsampling_conv_channels"), 0), FMT, C("subsampling_conv_channels")),
    ONE(CTC4, I(C("subsampling_conv_channels"), 16), FMT, C("subsampling_conv_channels")),
    ONE(CTC4, I(C("subsampling_conv_channels"), 1 << 30), FMT, C("subsampling_conv_channels")),
    ONE(CTC4, I(C("conv_kernel_size"), 0), FMT, C("conv_kernel_size")),
    ONE(CTC4, I64(C("conv_kernel_size"), -2), FMT, C("conv_kernel_size")),
    ONE(CTC4, I(C("conv_kernel_size"), 1 << 30), FMT, C("conv_kernel_size")),
    ONE(DW8, I(C("conv_kernel_size"), 31), FMT, C("conv_context_")),
    ONE(CTC4, I(C("conv_context_left"), 6), FMT, C("conv_context_right")),
    ONE(CTC4, I64(C("conv_context_left"), -2), FMT, C("conv_context_left")),
    ONE(CTC4, I(C("conv_context_right"), 1000), FMT, C("conv_context_right")),
    /* attention contexts */
    ONE(CTC4, I64(C("att_context_left"), -2), FMT, C("att_context_left")),
    ONE(CTC4, I64(C("att_context_left"), HUGE_VAL64), FMT, C("att_context_left")),
    ONE(CTC4, I64(C("att_context_right"), -2), FMT, C("att_context_right")),
    ONE(CTC4, I64(C("att_context_right"), 1000000), FMT, C("att_context_right")),
    ONE(HYBRID, I64(C("att_context_right"), -1), FMT, C("att_context_right")),
    ONE(HYBRID, I64(C("att_context_left"), 13), FMT, C("att_context_left")),
    /* vocabulary and heads */
    ONE(CTC4, I(C("blank_id"), 0), FMT, C("blank_id")),
    ONE(CTC4, I(C("blank_id"), 4000000), FMT, C("blank_id")),
    ONE(CTC4, DEL(C("vocab")), FMT, C("vocab")),
    ONE(CTC4, S(C("vocab"), "abc"), FMT, C("vocab")),
    ONE(HYBRID, I(C("rnnt.pred_hidden"), 0), FMT, C("rnnt.pred_hidden")),
    ONE(HYBRID, I(C("rnnt.pred_hidden"), 64), FMT, C("rnnt.pred_hidden")),
    ONE(HYBRID, I(C("rnnt.pred_rnn_layers"), 0), FMT, C("rnnt.pred_rnn_layers")),
    ONE(HYBRID, I(C("rnnt.pred_rnn_layers"), 9), FMT, C("rnnt.pred_rnn_layers")),
    ONE(HYBRID, I(C("rnnt.joint_hidden"), 0), FMT, C("rnnt.joint_hidden")),
    ONE(HYBRID, I(C("rnnt.joint_hidden"), 57), FMT, C("rnnt.joint_hidden")),
    ONE(HYBRID, I(C("rnnt.max_symbols"), 0), FMT, C("rnnt.max_symbols")),
    ONE(HYBRID, I(C("rnnt.max_symbols"), 886), FMT, C("rnnt.max_symbols")), /* fuzz_model: 12 s per input */
    ONE(HYBRID, S(C("rnnt.joint_activation"), "gelu"), UNS, C("rnnt.joint_activation")),
    /* options, types, a missing key */
    ONE(CTC4, S(C("head"), "tdt"), UNS, C("head")),
    ONE(CTC4, S(C("subsampling"), "vggnet"), UNS, C("subsampling")),
    ONE(CTC4, S(C("att_context_style"), "sliding"), UNS, C("att_context_style")),
    ONE(CTC4, S(C("conv_norm_type"), "group_norm"), UNS, C("conv_norm_type")),
    ONE(CTC4, S(C("tokenizer"), "wordpiece"), UNS, C("tokenizer")),
    ONE(CTC4, S(C("d_model"), "64"), FMT, C("d_model")),
    ONE(CTC4, I(C("xscaling"), 1), FMT, C("xscaling")),
    ONE(CTC4, DEL(C("d_model")), FMT, C("d_model")),
    /* feature settings */
    ONE(CTC4, I("features.sample_rate", 0), FMT, "features.sample_rate"),
    ONE(CTC4, I64("features.sample_rate", HUGE_VAL64), FMT, "features.sample_rate"),
    ONE(CTC4, I("features.n_mels", 0), FMT, "features.n_mels"),
    ONE(CTC4, I("features.n_mels", 64), FMT, "features.n_mels"),
    ONE(CTC4, I("features.n_fft", 0), FMT, "features.n_fft"),
    ONE(CTC4, I("features.n_fft", 511), FMT, "features.n_fft"),
    ONE(CTC4, I("features.n_fft", 256), FMT, "features.win_length"),
    ONE(CTC4, I("features.hop_length", 0), FMT, "features.hop_length"),
    ONE(CTC4, I64("features.hop_length", -2), FMT, "features.hop_length"),
    ONE(CTC4, I("features.hop_length", 3), FMT, "features.hop_length"), /* fuzz_model: seconds per input */
    ONE(CTC4, I("features.win_length", 0), FMT, "features.win_length"),
    ONE(CTC4, F("features.preemph", NAN), FMT, "features.preemph"),
    ONE(CTC4, F("features.log_guard", 0.0), FMT, "features.log_guard"),
    ONE(CTC4, F("features.mag_power", -1.0), FMT, "features.mag_power"),
    ONE(CTC4, S("features.normalize", "zscore"), UNS, "features.normalize"),
    ONE(CTC4, S("features.kind", "whisper"), UNS, "features.kind"),
    ONE(CTC4, DEL("features.kind"), FMT, "features.kind"),
    /* another architecture */
    ONE(CTC4, S("general.architecture", "llama"), UNS, "general.architecture"),
    ONE(WHISPER, S("general.architecture", "whisper"), UNS, "general.architecture"),
    /* Whisper: sizes 0, -2, huge, disagreeing with the tensors */
    ONE(WHISPER, I(W("n_mels"), 0), FMT, W("n_mels")),
    ONE(WHISPER, I(W("n_mels"), 128), FMT, "encoder.conv1.weight"),
    ONE(WHISPER, I64(W("n_mels"), HUGE_VAL64), FMT, W("n_mels")),
    ONE(WHISPER, I(W("n_audio_ctx"), 0), FMT, W("n_audio_ctx")),
    ONE(WHISPER, I(W("n_audio_ctx"), 1000000), FMT, W("n_audio_ctx")),
    ONE(WHISPER, I(W("n_audio_ctx"), 1499), FMT, "encoder.positional_embedding"),
    ONE(WHISPER, I64(W("n_audio_state"), -2), FMT, W("n_audio_state")),
    ONE(WHISPER, I(W("n_audio_state"), 128), FMT, W("n_text_state")),
    ONE(WHISPER, I(W("n_audio_head"), 0), FMT, W("n_audio_head")),
    ONE(WHISPER, I(W("n_audio_head"), 3), FMT, W("n_audio_head")),
    ONE(WHISPER, I(W("n_audio_layer"), 0), FMT, W("n_audio_layer")),
    ONE(WHISPER, I(W("n_audio_layer"), 3), FMT, "encoder.blocks.2"),
    ONE(WHISPER, I(W("n_text_ctx"), 0), FMT, W("n_text_ctx")),
    ONE(WHISPER, I(W("n_text_ctx"), 4000000), FMT, W("n_text_ctx")),
    ONE(WHISPER, I(W("n_text_head"), 5), FMT, W("n_text_head")),
    ONE(WHISPER, I(W("n_text_layer"), 7), FMT, "decoder.blocks.2"),
    ONE(WHISPER, I(W("n_vocab"), 0), FMT, W("n_vocab")),
    ONE(WHISPER, I(W("n_vocab"), 401), FMT, W("tokens")),
    /* special tokens, languages, lists */
    ONE(WHISPER, I(W("token_eot"), 400), FMT, W("token_eot")),
    ONE(WHISPER, I64(W("token_sot"), -1), FMT, W("token_sot")),
    ONE(WHISPER, I(W("token_sot"), 10), FMT, W("token_sot")),
    ONE(WHISPER, I(W("token_timestamp_begin"), 5), FMT, W("token_sot")),
    ONE(WHISPER, DEL(W("tokens")), FMT, W("tokens")),
    ONE(WHISPER, S(W("tokens"), "abc"), FMT, W("tokens")),
    ONE(WHISPER, S(W("languages"), "ko"), FMT, W("languages")),
    ONE(WHISPER, S(W("alignment_heads"), "0,0"), FMT, W("alignment_heads")),
    ONE(WHISPER, S(W("suppress_tokens"), "1"), FMT, W("suppress_tokens")),
    ONE(WHISPER, DEL(W("n_text_state")), FMT, W("n_text_state")),
    /* tensors missing or of another shape */
    ONE(WHISPER, DROP("decoder.token_embedding.weight"), FMT, "decoder.token_embedding.weight"),
    ONE(WHISPER, DROP("mel_filters"), FMT, "mel_filters"),
    ONE(WHISPER, DROP("decoder.blocks.1.cross_attn.key.weight"), FMT, "decoder.blocks.1.cross_attn.key.weight"),
    ONE(WHISPER, SHAPE2("encoder.blocks.0.mlp.0.weight", 64, 255), FMT, "encoder.blocks.0.mlp.0.weight"),
    ONE(WHISPER, SHAPE2("decoder.positional_embedding", 64, 447), FMT, "decoder.positional_embedding"),
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static void *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *d = malloc(len > 0 ? (size_t)len : 1);
    *n = d ? fread(d, 1, (size_t)len, f) : 0;
    fclose(f);
    return d;
}

static int write_all(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(d, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static const char *status_name(sori_status st)
{
    return st == SORI_ERR_FORMAT ? "FORMAT" : st == SORI_ERR_UNSUPPORTED ? "UNSUPPORTED" : sori_status_str(st);
}

/* The crafted model of the SIGFPE report, and a limit that does bite: a
 * regular-attention model with a left context and an unlimited right one. */
static void test_left_context(sori_runtime *rt, const void *dw8, size_t n)
{
    sori_conformer *ref = NULL, *m253 = NULL, *m2 = NULL;
    gguf_edit e253 = I64(C("att_context_left"), 253), e2 = I64(C("att_context_left"), 2);
    void *b253 = NULL, *b2 = NULL;
    size_t n253 = 0, n2 = 0;
    sori_error err = {0};
    CHECK_STATUS(gguf_edit_apply(dw8, n, &e253, 1, &b253, &n253), SORI_OK);
    CHECK_STATUS(gguf_edit_apply(dw8, n, &e2, 1, &b2, &n2), SORI_OK);
    CHECK_STATUS(sori_conformer_load_memory(rt, dw8, n, &ref, &err), SORI_OK);
    CHECK_STATUS(sori_conformer_load_memory(rt, b253, n253, &m253, &err), SORI_OK);
    CHECK_STATUS(sori_conformer_load_memory(rt, b2, n2, &m2, &err), SORI_OK);
    if (ref && m253 && m2) {
        sori_conformer_info in = sori_conformer_get_info(ref);
        const int64_t frames = 200, T = sori_conformer_out_frames(ref, frames), V = in.vocab_size + 1;
        float *x = malloc((size_t)(frames * in.feat_in) * 4), *lp[3];
        for (int64_t i = 0; i < frames * in.feat_in; i++)
            x[i] = sinf(0.37f * (float)i) + 0.1f * (float)(i % 7);
        sori_conformer *ms[3] = {ref, m253, m2};
        for (int k = 0; k < 3; k++) {
            lp[k] = malloc((size_t)(T * V) * 4);
            CHECK_STATUS(sori_conformer_forward(ms[k], x, frames, NULL, lp[k], &err), SORI_OK);
        }
        double d253 = 0, d2 = 0;
        int finite = 1;
        for (int64_t i = 0; i < T * V; i++) {
            d253 = fmax(d253, fabs((double)lp[1][i] - lp[0][i]));
            d2 = fmax(d2, fabs((double)lp[2][i] - lp[0][i]));
            finite &= isfinite(lp[1][i]) && isfinite(lp[2][i]);
        }
        printf("  att_context_left 253 vs unlimited (%lld frames): max |dlogp| %.2e; left 2: %.2e\n",
               (long long)T, d253, d2);
        CHECK(finite, "non-finite log-probs");
        CHECK(T < 253 && d253 <= 1e-5, "left context 253 over %lld frames differs from unlimited: %g", (long long)T, d253);
        CHECK(d2 > 1e-3, "left context 2 had no effect (%g)", d2);
        for (int k = 0; k < 3; k++)
            free(lp[k]);
        free(x);
    }
    sori_conformer_free(ref);
    sori_conformer_free(m253);
    sori_conformer_free(m2);
    free(b253);
    free(b2);
}

int main(int argc, char **argv)
{
    const char *write_dir = argc == 3 && strcmp(argv[1], "--write") == 0 ? argv[2] : NULL;
    void *fx[N_FIXTURES];
    size_t fx_n[N_FIXTURES];
    char path[1024];
    for (int i = 0; i < N_FIXTURES; i++) {
        if (i == WHISPER) {
            whisper_rand_cfg wc = {80, 1500, 64, 2, 2, 448, 64, 2, 2, 400, 7};
            int32_t sup[4] = {1, 2, 7, 8};
            if (whisper_rand_model(&wc, sup, 4, &fx[i], &fx_n[i]) != 0) {
                fprintf(stderr, "cannot make the Whisper fixture\n");
                return 1;
            }
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", SORI_FIXTURE_DIR, fixture_path[i]);
        if (!(fx[i] = read_all(path, &fx_n[i]))) {
            fprintf(stderr, "cannot read %s\n", path);
            return 1;
        }
    }
    FILE *list = NULL;
    if (write_dir) {
        snprintf(path, sizeof path, "%s/list.tsv", write_dir);
        if (!(list = fopen(path, "w"))) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
    }
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = 1;
    rp.pool_bytes = 1 << 16;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    if (!write_dir)
        CHECK_STATUS(sori_runtime_create(&rp, &rt, &err), SORI_OK);
    char tmp[] = "/tmp/sori_bad_model_XXXXXX";
    int fd = write_dir ? -1 : mkstemp(tmp);
    if (!write_dir && fd < 0)
        return 1;
    if (fd >= 0)
        close(fd);
    int refused = 0;
    for (int c = 0; c < N_CASES; c++) {
        const bad_case *bc = &cases[c];
        void *data = NULL;
        size_t n = 0;
        sori_status st = gguf_edit_apply(fx[bc->fixture], fx_n[bc->fixture], bc->edit, bc->n_edits, &data, &n);
        CHECK(st == SORI_OK, "case %d: the edit failed (%d)", c, (int)st);
        if (st != SORI_OK)
            continue;
        if (write_dir) {
            snprintf(path, sizeof path, "%s/%02d.gguf", write_dir, c);
            CHECK(write_all(path, data, n) == 0, "cannot write %s", path);
            fprintf(list, "%02d.gguf\t%s\n", c, bc->key);
            free(data);
            continue;
        }
        CHECK(write_all(tmp, data, n) == 0, "cannot write %s", tmp);
        sori_asr_model_params mp = sori_asr_model_default_params();
        sori_asr_model *m = NULL;
        sori_error e = {0};
        st = sori_asr_model_load(rt, tmp, &mp, &m, &e);
        CHECK(st == bc->want && strstr(e.message, bc->key) && strstr(e.message, tmp),
              "case %d (%s): status %s, expected %s naming %s: '%s'", c, bc->edit[0].name, status_name(st),
              status_name(bc->want), bc->key, e.message);
        refused += st != SORI_OK;
        size_t lt = strlen(tmp);
        printf("  %2d %-11s %s\n", c, status_name(st),
               strncmp(e.message, tmp, lt) == 0 && e.message[lt] == ':' ? e.message + lt + 2 : e.message);
        sori_asr_model_free(m);
        /* the encoder alone, from memory, where the key is the encoder's */
        if (bc->fixture != WHISPER && strncmp(bc->key, "features.", 9) != 0 &&
            strcmp(bc->key, "general.architecture") != 0) {
            sori_conformer *cm = NULL;
            sori_error e2 = {0};
            st = sori_conformer_load_memory(rt, data, n, &cm, &e2);
            CHECK(st == bc->want && strstr(e2.message, bc->key), "case %d from memory: %d '%s'", c, (int)st,
                  e2.message);
            sori_conformer_free(cm);
        }
        free(data);
    }
    if (write_dir) { /* and the file that crashed sori transcribe (a valid model: it must run) */
        fclose(list);
        gguf_edit e253 = I64(C("att_context_left"), 253);
        void *data = NULL;
        size_t n = 0;
        snprintf(path, sizeof path, "%s/sigfpe_left253.gguf", write_dir);
        CHECK(gguf_edit_apply(fx[DW8], fx_n[DW8], &e253, 1, &data, &n) == SORI_OK && write_all(path, data, n) == 0,
              "cannot write %s", path);
        free(data);
    } else {
        printf("%d of %d hostile models refused, each naming its key\n", refused, N_CASES);
        CHECK(refused == N_CASES, "%d not refused", N_CASES - refused);
        test_left_context(rt, fx[DW8], fx_n[DW8]);
        unlink(tmp);
    }
    for (int i = 0; i < N_FIXTURES; i++)
        free(fx[i]);
    sori_runtime_free(rt);
    return write_dir ? (g_checks_failed ? 1 : 0) : check_finish("test_bad_models");
}
