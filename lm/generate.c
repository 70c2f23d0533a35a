/* Chat formatting and text generation (sori/lm.h).
 *
 * Chat formats: recognized from the file's tokenizer.chat_template by the
 * markers llama.cpp looks for, and written as llama.cpp writes them (its
 * formatter is the reference of tests/test_lm.c, fixtures by
 * tools/gen_chat_fixtures.py). Jinja itself is not run.
 *
 * Generation: the prompt's tokens after the longest prefix the cache still
 * holds from the previous call, then one token at a time: sampled, its
 * text passed on (whole UTF-8 characters, stop strings held back), and fed
 * back. Everything lives in the session. */
#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"
#include "lm/llm_internal.h"

/* ---- chat formats ---------------------------------------------------------------------- */

typedef enum { CHAT_UNKNOWN, CHAT_CHATML, CHAT_LLAMA3, CHAT_GEMMA, CHAT_EXAONE3 } chat_kind;

static const char *const CHAT_NAMES[] = {NULL, "chatml", "llama3", "gemma", "exaone3"};

static chat_kind chat_detect(const char *t)
{
    for (int k = CHAT_CHATML; k <= CHAT_EXAONE3; k++)
        if (strcmp(t, CHAT_NAMES[k]) == 0)
            return (chat_kind)k;
    if (strstr(t, "<|im_start|>") && !strstr(t, "<|im_sep|>"))
        return CHAT_CHATML;
    if (strstr(t, "<|start_header_id|>") && strstr(t, "<|end_header_id|>"))
        return CHAT_LLAMA3;
    if (strstr(t, "<start_of_turn>"))
        return CHAT_GEMMA;
    if (strstr(t, "[|system|]") && strstr(t, "[|assistant|]") && strstr(t, "[|endofturn|]") && !strstr(t, "[|tool|]"))
        return CHAT_EXAONE3;
    return CHAT_UNKNOWN;
}

/* The file's template, or for a file without one its architecture's
 * format (gemma3: gemma; qwen2, qwen3: chatml), or NULL. */
static const char *file_template(const sori_lm *lm)
{
    const char *t = lm_chat_template_text(lm);
    if (t)
        return t;
    const char *arch = sori_lm_get_info(lm).architecture;
    return strcmp(arch, "gemma3") == 0 ? "gemma" : strncmp(arch, "qwen", 4) == 0 ? "chatml" : NULL;
}

const char *sori_lm_chat_template(const sori_lm *lm)
{
    const char *t = lm ? file_template(lm) : NULL;
    return t ? CHAT_NAMES[chat_detect(t)] : NULL;
}

typedef struct {
    char *buf;
    size_t cap, len;
} text_out;

static void put(text_out *o, const char *s, size_t n)
{
    if (o->len + n < o->cap)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void puts_(text_out *o, const char *s)
{
    put(o, s, strlen(s));
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* s without leading and trailing white space */
static void put_trimmed(text_out *o, const char *s)
{
    size_t n = strlen(s);
    while (n && is_space(*s))
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    put(o, s, n);
}

sori_status sori_lm_chat_format(const sori_lm *lm, const char *tmpl, const sori_lm_chat_message *msgs, int n_msgs,
                                bool add_assistant, char *buf, size_t cap, size_t *len, sori_error *err)
{
    if ((!lm && !tmpl) || n_msgs < 0 || (n_msgs > 0 && !msgs) || (cap > 0 && !buf) || !len)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: chat format: bad arguments");
    for (int i = 0; i < n_msgs; i++)
        if (!msgs[i].role || !msgs[i].content)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: chat format: message %d has no role or content", i);
    const char *t = tmpl ? tmpl : file_template(lm);
    if (!t)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "lm: the model file has no chat template (tokenizer.chat_template) and its architecture "
                         "no usual one; name one: gemma, llama3, chatml, exaone3");
    const chat_kind kind = chat_detect(t);
    if (kind == CHAT_UNKNOWN)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "lm: chat template not recognized (sori writes the gemma, llama3, chatml and exaone3 "
                         "formats): %.60s%s",
                         t, strlen(t) > 60 ? "..." : "");
    text_out o = {buf, cap, 0};
    switch (kind) {
    case CHAT_CHATML:
        for (int i = 0; i < n_msgs; i++) {
            puts_(&o, "<|im_start|>");
            puts_(&o, msgs[i].role);
            puts_(&o, "\n");
            puts_(&o, msgs[i].content);
            puts_(&o, "<|im_end|>\n");
        }
        if (add_assistant)
            puts_(&o, "<|im_start|>assistant\n");
        break;
    case CHAT_LLAMA3:
        for (int i = 0; i < n_msgs; i++) {
            puts_(&o, "<|start_header_id|>");
            puts_(&o, msgs[i].role);
            puts_(&o, "<|end_header_id|>\n\n");
            put_trimmed(&o, msgs[i].content);
            puts_(&o, "<|eot_id|>");
        }
        if (add_assistant)
            puts_(&o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case CHAT_GEMMA: {
        /* no system turn: the system text opens the next user turn */
        int pending = -1, n_sys = 0;
        for (int i = 0; i < n_msgs; i++) {
            if (strcmp(msgs[i].role, "system") == 0) {
                if (pending < 0)
                    pending = i;
                n_sys++;
                continue;
            }
            const char *role = strcmp(msgs[i].role, "assistant") == 0 ? "model" : msgs[i].role;
            puts_(&o, "<start_of_turn>");
            puts_(&o, role);
            puts_(&o, "\n");
            if (pending >= 0 && strcmp(role, "model") != 0) {
                for (int j = pending; j < i; j++)
                    if (strcmp(msgs[j].role, "system") == 0)
                        put_trimmed(&o, msgs[j].content);
                puts_(&o, "\n\n");
                pending = -1;
            }
            put_trimmed(&o, msgs[i].content);
            puts_(&o, "<end_of_turn>\n");
        }
        (void)n_sys;
        if (add_assistant)
            puts_(&o, "<start_of_turn>model\n");
        break;
    }
    case CHAT_EXAONE3:
        for (int i = 0; i < n_msgs; i++) {
            const char *r = msgs[i].role;
            if (strcmp(r, "system") == 0) {
                puts_(&o, "[|system|]");
                put_trimmed(&o, msgs[i].content);
                puts_(&o, "[|endofturn|]\n");
            } else if (strcmp(r, "user") == 0) {
                puts_(&o, "[|user|]");
                put_trimmed(&o, msgs[i].content);
                puts_(&o, "\n");
            } else if (strcmp(r, "assistant") == 0) {
                puts_(&o, "[|assistant|]");
                put_trimmed(&o, msgs[i].content);
                puts_(&o, "[|endofturn|]\n");
            }
        }
        if (add_assistant)
            puts_(&o, "[|assistant|]");
        break;
    default: break;
    }
    *len = o.len;
    if (cap > 0)
        buf[o.len < cap ? o.len : cap - 1] = 0;
    if (o.len >= cap)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: chat format: %zu bytes do not fit a buffer of %zu", o.len,
                         cap);
    return SORI_OK;
}

bool sori_lm_is_end(const sori_lm *lm, int32_t token)
{
    return lm && sori_vocab_is_eog(lm_vocab(lm), token);
}

/* ---- generation ------------------------------------------------------------------------ */

enum { MAX_STOP = 16, MAX_STOP_LEN = 256, PIECE_CAP = 1024, PEND_CAP = 2048 };

sori_lm_generate_params sori_lm_generate_default_params(void)
{
    return (sori_lm_generate_params){.sampling = {.temperature = 0.0f, .top_k = 0, .top_p = 1.0f}, .seed = 1};
}

typedef struct {
    char buf[PEND_CAP];
    size_t n;
    const sori_lm_generate_params *p;
    sori_lm_text_fn fn;
    void *user;
    bool caller_stop;
} pending;

static void give(pending *q, size_t n)
{
    if (n == 0)
        return;
    if (q->fn && !q->caller_stop && !q->fn(q->user, q->buf, n))
        q->caller_stop = true;
    memmove(q->buf, q->buf + n, q->n - n);
    q->n -= n;
}

/* How much of q->buf may go now: not a possible start of a stop string, and
 * not a UTF-8 character still missing bytes. */
static size_t safe_length(const pending *q)
{
    size_t hold = 0;
    for (int i = 0; i < q->p->n_stop; i++) {
        const char *s = q->p->stop[i];
        const size_t L = strlen(s);
        for (size_t k = (L - 1 < q->n ? L - 1 : q->n); k > hold; k--)
            if (memcmp(q->buf + q->n - k, s, k) == 0) {
                hold = k;
                break;
            }
    }
    size_t n = q->n - hold;
    /* back to the start of a character cut by the hold (at most 3 bytes) */
    for (int k = 0; k < 3 && n > 0 && n < q->n && ((unsigned char)q->buf[n] & 0xC0) == 0x80; k++)
        n--;
    if (n == q->n) { /* the last character complete? */
        for (size_t i = n, k = 0; i > 0 && k < 4; k++) {
            const unsigned char c = (unsigned char)q->buf[--i];
            if ((c & 0xC0) == 0x80)
                continue;
            const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (i + need > n)
                n = i; /* wait for the rest */
            break;
        }
    }
    return n;
}

/* The earliest stop string in q->buf, or -1. */
static long find_stop(const pending *q)
{
    long best = -1;
    for (int i = 0; i < q->p->n_stop; i++) {
        const char *s = q->p->stop[i];
        const size_t L = strlen(s);
        for (size_t at = 0; at + L <= q->n; at++)
            if (memcmp(q->buf + at, s, L) == 0) {
                if (best < 0 || (long)at < best)
                    best = (long)at;
                break;
            }
    }
    return best;
}

sori_status sori_lm_generate(sori_lm_session *s, const int32_t *prompt, int n_prompt, const sori_lm_generate_params *p,
                             sori_lm_text_fn on_text, void *user, sori_lm_generate_result *res, sori_error *err)
{
    sori_lm_generate_params dp = sori_lm_generate_default_params();
    if (!p)
        p = &dp;
    if (res)
        memset(res, 0, sizeof *res);
    if (!s || !prompt || n_prompt < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: generate: no session or an empty prompt");
    if (p->n_stop < 0 || p->n_stop > MAX_STOP || (p->n_stop > 0 && !p->stop) || p->max_tokens < 0)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: generate: %d stop strings (at most %d), max_tokens %d",
                         p->n_stop, MAX_STOP, p->max_tokens);
    for (int i = 0; i < p->n_stop; i++)
        if (!p->stop[i] || !p->stop[i][0] || strlen(p->stop[i]) > MAX_STOP_LEN)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: generate: stop string %d is empty or over %d bytes", i,
                             MAX_STOP_LEN);
    lm_gen_state g = lm_session_gen(s);
    const int V = sori_lm_get_info(g.lm).n_vocab;
    if (n_prompt >= g.n_ctx)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "lm: generate: a prompt of %d tokens leaves no room in the session's context of %d", n_prompt,
                         g.n_ctx);
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= V)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: generate: prompt token %d is %d (vocab %d)", i,
                             prompt[i], V);
    /* what the cache still holds of this prompt; the last prompt token always runs (its logits) */
    int keep = 0;
    while (keep < *g.n_tokens && keep < n_prompt - 1 && g.tokens[keep] == prompt[keep])
        keep++;
    *g.n_tokens = keep;
    sori_status st = SORI_OK;
    sori_lm_token batch[64];
    const int B = g.n_batch < 64 ? g.n_batch : 64;
    for (int pos = keep; pos < n_prompt && st == SORI_OK;) {
        int c = 0;
        for (; c < B && pos + c < n_prompt; c++)
            batch[c] = (sori_lm_token){prompt[pos + c], pos + c, 0, pos + c == n_prompt - 1};
        st = lm_decode(s, batch, c, g.logits, err);
        if (st == SORI_OK) {
            memcpy(g.tokens + pos, prompt + pos, (size_t)c * sizeof(int32_t));
            pos += c;
            *g.n_tokens = pos;
        }
    }
    if (st != SORI_OK)
        return st;
    pending q = {.n = 0, .p = p, .fn = on_text, .user = user};
    uint64_t rng = p->seed;
    int pos = n_prompt, n_gen = 0;
    sori_lm_stop why = SORI_LM_STOP_CONTEXT;
    char piece[PIECE_CAP];
    for (;;) {
        const int32_t tok = sori_lm_sample(g.logits, V, &p->sampling, &rng, g.scratch_f, g.scratch_i);
        n_gen++;
        if (sori_lm_is_end(g.lm, tok)) {
            why = SORI_LM_STOP_END;
            break;
        }
        int len = sori_lm_token_piece(g.lm, tok, piece, PIECE_CAP);
        if (len > PIECE_CAP) {
            st = sori_fail(err, SORI_ERR_FORMAT, 0, "lm: token %d's text is over %d bytes", tok, PIECE_CAP);
            break;
        }
        memcpy(q.buf + q.n, piece, (size_t)len);
        q.n += (size_t)len;
        const long at = p->n_stop ? find_stop(&q) : -1;
        if (at >= 0) {
            give(&q, (size_t)at);
            q.n = 0;
            why = SORI_LM_STOP_STRING;
            break;
        }
        give(&q, safe_length(&q));
        if (q.caller_stop) {
            why = SORI_LM_STOP_CALLER;
            break;
        }
        if (p->max_tokens && n_gen >= p->max_tokens) {
            why = SORI_LM_STOP_MAX_TOKENS;
            break;
        }
        if (pos >= g.n_ctx) {
            why = SORI_LM_STOP_CONTEXT;
            break;
        }
        sori_lm_token t = {tok, pos, 0, true};
        if ((st = lm_decode(s, &t, 1, g.logits, err)) != SORI_OK)
            break;
        g.tokens[pos++] = tok;
        *g.n_tokens = pos;
    }
    if (st == SORI_OK && why != SORI_LM_STOP_CALLER)
        give(&q, q.n); /* what was held back for a stop string that never came */
    if (res) {
        res->n_prompt = n_prompt;
        res->n_reused = keep;
        res->n_generated = n_gen;
        res->stop = q.caller_stop ? SORI_LM_STOP_CALLER : why;
    }
    return st;
}
