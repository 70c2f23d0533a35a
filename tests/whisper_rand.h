/*
 * tests/whisper_rand.h — a "sori.whisper" model with every parameter random,
 * made in memory by the generator that tools/gen_whisper_fixtures.py also
 * implements (docs/testing.md, "Whisper parity with random weights"), so the
 * parity fixtures need no committed weights. The vocabulary is Whisper's
 * layout (the specials and language tokens at their real ids) with made-up
 * texts for the regular tokens — or, for n_vocab < 51865, a small one of the
 * same shape (en and ko, 101 timestamps); the mel filters are random (the
 * parity tests feed mel spectrograms).
 */
#ifndef SORI_TESTS_WHISPER_RAND_H
#define SORI_TESTS_WHISPER_RAND_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gguf.h"

typedef struct whisper_rand_cfg {
    int n_mels, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer;
    int n_text_ctx, n_text_state, n_text_head, n_text_layer, n_vocab;
    uint64_t seed;
} whisper_rand_cfg;

static const char *const whisper_rand_languages[100] = {
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id",
    "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg",
    "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br",
    "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so",
    "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt",
    "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue"};

static uint64_t wr_fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static uint64_t wr_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int wr_ends(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Adds tensor `name` of numpy shape (d0, d1[, d2]) filled by the generator. */
static int wr_tensor(sori_gguf_writer *w, uint64_t seed, const char *name, int nd, int64_t d0, int64_t d1,
                     int64_t d2)
{
    int64_t shape[3] = {d0, d1, d2}, n = 1;
    for (int i = 0; i < nd; i++)
        n *= shape[i];
    float *x = malloc((size_t)n * sizeof(float));
    if (!x)
        return -1;
    float amp;
    int ln_weight = 0;
    if (wr_ends(name, "positional_embedding") || !strcmp(name, "decoder.token_embedding.weight")) {
        amp = 0.5f;
    } else if (nd >= 2) {
        double fan_in = 1.0;
        for (int i = 1; i < nd; i++)
            fan_in *= (double)shape[i];
        amp = (float)(1.0 / sqrt(fan_in));
    } else {
        amp = 0.1f;
        ln_weight = wr_ends(name, "_ln.weight") || wr_ends(name, "ln_post.weight") || !strcmp(name, "decoder.ln.weight");
    }
    uint64_t st = seed ^ wr_fnv1a(name);
    for (int64_t i = 0; i < n; i++) {
        float u = (float)(wr_next(&st) >> 40) * (1.0f / 16777216.0f);
        float v = (u * 2.0f - 1.0f) * amp;
        x[i] = ln_weight ? 1.0f + v : v;
    }
    int64_t ne[3];
    for (int i = 0; i < nd; i++)
        ne[i] = shape[nd - 1 - i];
    int rc = sori_gguf_writer_add_tensor(w, name, 0 /* f32 */, nd, ne, x) == SORI_OK ? 0 : -1;
    free(x);
    return rc;
}

static int wr_block(sori_gguf_writer *w, uint64_t seed, const char *pre, int l, int d, int cross)
{
    static const char *const att[] = {"attn", "cross_attn"};
    char nm[128];
    int rc = 0;
    for (int a = 0; a <= cross; a++) {
#define T1(suffix, n0) (snprintf(nm, sizeof nm, "%s.blocks.%d.%s%s", pre, l, att[a], suffix), rc |= wr_tensor(w, seed, nm, 1, n0, 0, 0))
#define T2(suffix, n0, n1) (snprintf(nm, sizeof nm, "%s.blocks.%d.%s%s", pre, l, att[a], suffix), rc |= wr_tensor(w, seed, nm, 2, n0, n1, 0))
        T2(".query.weight", d, d);
        T1(".query.bias", d);
        T2(".key.weight", d, d);
        T2(".value.weight", d, d);
        T1(".value.bias", d);
        T2(".out.weight", d, d);
        T1(".out.bias", d);
        T1("_ln.weight", d);
        T1("_ln.bias", d);
#undef T1
#undef T2
    }
#define M1(suffix, n0) (snprintf(nm, sizeof nm, "%s.blocks.%d.%s", pre, l, suffix), rc |= wr_tensor(w, seed, nm, 1, n0, 0, 0))
#define M2(suffix, n0, n1) (snprintf(nm, sizeof nm, "%s.blocks.%d.%s", pre, l, suffix), rc |= wr_tensor(w, seed, nm, 2, n0, n1, 0))
    M2("mlp.0.weight", 4 * d, d);
    M1("mlp.0.bias", 4 * d);
    M2("mlp.2.weight", d, 4 * d);
    M1("mlp.2.bias", d);
    M1("mlp_ln.weight", d);
    M1("mlp_ln.bias", d);
#undef M1
#undef M2
    return rc;
}

static void wr_u32(sori_gguf_writer *w, const char *key, int v)
{
    uint32_t x = (uint32_t)v;
    sori_gguf_writer_set(w, key, SORI_GGUF_U32, &x);
}

/* The model file in a malloc'd buffer; suppress: the non-speech tokens
 * (the fixture's list). 0 on success. */
static int whisper_rand_model(const whisper_rand_cfg *c, const int32_t *suppress, int n_suppress, void **data,
                              size_t *size)
{
    sori_gguf_writer *w = NULL;
    if (sori_gguf_writer_create(&w) != SORI_OK)
        return -1;
    /* Whisper's layout (openai-whisper's num_languages from n_vocab), or for a
     * small test vocabulary (< 51865): two languages (en, ko), 101
     * timestamps, the regular tokens before them */
    const int V = c->n_vocab, small = V < 51865;
    const int n_lang = small ? 2 : V - 51765 - 1;
    const int eot = small ? V - (2 + n_lang + 6 + 101) : 50257, sot = eot + 1, translate = sot + 1 + n_lang;
    static const char *const small_langs[2] = {"en", "ko"};
    sori_gguf_writer_set_str(w, "general.architecture", "sori.whisper");
    sori_gguf_writer_set_str(w, "general.name", "whisper-random");
    wr_u32(w, "sori.whisper.n_mels", c->n_mels);
    wr_u32(w, "sori.whisper.n_audio_ctx", c->n_audio_ctx);
    wr_u32(w, "sori.whisper.n_audio_state", c->n_audio_state);
    wr_u32(w, "sori.whisper.n_audio_head", c->n_audio_head);
    wr_u32(w, "sori.whisper.n_audio_layer", c->n_audio_layer);
    wr_u32(w, "sori.whisper.n_text_ctx", c->n_text_ctx);
    wr_u32(w, "sori.whisper.n_text_state", c->n_text_state);
    wr_u32(w, "sori.whisper.n_text_head", c->n_text_head);
    wr_u32(w, "sori.whisper.n_text_layer", c->n_text_layer);
    wr_u32(w, "sori.whisper.n_vocab", V);
    wr_u32(w, "sori.whisper.token_eot", eot);
    wr_u32(w, "sori.whisper.token_sot", sot);
    wr_u32(w, "sori.whisper.token_translate", translate);
    wr_u32(w, "sori.whisper.token_transcribe", translate + 1);
    wr_u32(w, "sori.whisper.token_sot_lm", translate + 2);
    wr_u32(w, "sori.whisper.token_sot_prev", translate + 3);
    wr_u32(w, "sori.whisper.token_no_speech", translate + 4);
    wr_u32(w, "sori.whisper.token_no_timestamps", translate + 5);
    wr_u32(w, "sori.whisper.token_timestamp_begin", translate + 6);
    sori_gguf_writer_set_str(w, "sori.whisper.source", "random");
    uint8_t multi = 1;
    sori_gguf_writer_set(w, "sori.whisper.multilingual", SORI_GGUF_BOOL, &multi);
    sori_gguf_writer_set_arr(w, "sori.whisper.languages", SORI_GGUF_STRING,
                             small ? small_langs : whisper_rand_languages, (uint64_t)n_lang);
    if (small) /* the non-speech list of the real vocabulary does not fit: a few ids */
        n_suppress = n_suppress < 4 ? n_suppress : 4;
    sori_gguf_writer_set_arr(w, "sori.whisper.suppress_tokens", SORI_GGUF_I32, suppress, (uint64_t)n_suppress);
    int32_t heads[4] = {c->n_text_layer - 1, 0, c->n_text_layer / 2, c->n_text_head - 1};
    sori_gguf_writer_set_arr(w, "sori.whisper.alignment_heads", SORI_GGUF_I32, heads, 4);
    /* the vocabulary: 256 single bytes in GPT-2's alphabet, made-up texts, the specials */
    char **tok = calloc((size_t)V, sizeof *tok);
    int rc = tok ? 0 : -1;
    for (int i = 0; !rc && i < V; i++) {
        char buf[32];
        if (i < 256) {
            /* byte_to_unicode of byte i, UTF-8 */
            int k = 0, cp = i;
            int printable = (i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255);
            if (!printable) {
                cp = 256;
                for (int b = 0; b < i; b++)
                    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)))
                        cp++;
            }
            if (cp < 0x80)
                buf[k++] = (char)cp;
            else {
                buf[k++] = (char)(0xc0 | (cp >> 6));
                buf[k++] = (char)(0x80 | (cp & 0x3f));
            }
            buf[k] = 0;
        } else if (i < eot) {
            snprintf(buf, sizeof buf, "w%d", i);
        } else if (i == eot) {
            snprintf(buf, sizeof buf, "<|endoftext|>");
        } else if (i == sot) {
            snprintf(buf, sizeof buf, "<|startoftranscript|>");
        } else if (i < translate) {
            int li = i - sot - 1 > 0 ? i - sot - 1 : 0;
            snprintf(buf, sizeof buf, "<|%s|>", (small ? small_langs : whisper_rand_languages)[li]);
        } else if (i < translate + 6) {
            static const char *const sp[] = {"<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
                                             "<|nospeech|>", "<|notimestamps|>"};
            snprintf(buf, sizeof buf, "%s", sp[i - translate]);
        } else {
            snprintf(buf, sizeof buf, "<|%.2f|>", (i - translate - 6) * 0.02);
        }
        tok[i] = strdup(buf);
        rc = tok[i] ? 0 : -1;
    }
    if (!rc)
        rc = sori_gguf_writer_set_arr(w, "sori.whisper.tokens", SORI_GGUF_STRING, tok, (uint64_t)V) == SORI_OK ? 0 : -1;
    for (int i = 0; tok && i < V; i++)
        free(tok[i]);
    free(tok);
    const int d = c->n_audio_state;
    const uint64_t s = c->seed;
    rc |= wr_tensor(w, s, "mel_filters", 2, c->n_mels, 201, 0);
    rc |= wr_tensor(w, s, "encoder.conv1.weight", 3, d, c->n_mels, 3);
    rc |= wr_tensor(w, s, "encoder.conv1.bias", 1, d, 0, 0);
    rc |= wr_tensor(w, s, "encoder.conv2.weight", 3, d, d, 3);
    rc |= wr_tensor(w, s, "encoder.conv2.bias", 1, d, 0, 0);
    rc |= wr_tensor(w, s, "encoder.positional_embedding", 2, c->n_audio_ctx, d, 0);
    for (int l = 0; l < c->n_audio_layer; l++)
        rc |= wr_block(w, s, "encoder", l, d, 0);
    rc |= wr_tensor(w, s, "encoder.ln_post.weight", 1, d, 0, 0);
    rc |= wr_tensor(w, s, "encoder.ln_post.bias", 1, d, 0, 0);
    rc |= wr_tensor(w, s, "decoder.token_embedding.weight", 2, V, d, 0);
    rc |= wr_tensor(w, s, "decoder.positional_embedding", 2, c->n_text_ctx, d, 0);
    for (int l = 0; l < c->n_text_layer; l++)
        rc |= wr_block(w, s, "decoder", l, d, 1);
    rc |= wr_tensor(w, s, "decoder.ln.weight", 1, d, 0, 0);
    rc |= wr_tensor(w, s, "decoder.ln.bias", 1, d, 0, 0);
    if (!rc && sori_gguf_writer_to_memory(w, data, size, NULL) != SORI_OK)
        rc = -1;
    sori_gguf_writer_free(w);
    return rc;
}

#endif /* SORI_TESTS_WHISPER_RAND_H */
