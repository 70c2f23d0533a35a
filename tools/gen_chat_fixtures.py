#!/usr/bin/env python3
"""Reference chat formatting and generation of llama.cpp, for tests/test_lm.c and tests/test_lm_gemma.c.

    pip install llama-cpp-python==0.3.36
    python3 tools/gen_chat_fixtures.py --out tests/fixtures/lm [--model data/gemma-3-270m-q4_k_m.gguf]

Both files are tab-separated, one case per line, every text field escaped (\\ \n \t):

chat_format.tsv: template, add_assistant (0/1), the number of messages, role and content of each,
expected: llama.cpp's llama_chat_apply_template on the same template (a format name, or a short
template text for llama.cpp to recognize by its markers); "-" where llama.cpp refuses the template.
The conversations are the project's own sentences.

gemma_generate.tsv (with --model): the number of messages, role and content of each, the prompt's
tokens (space-separated) after llama.cpp's Gemma chat formatting and tokenization, how many bytes of
the reply come before llama.cpp's first near-tie (a step whose two largest logits are less than
MARGIN apart: past it, any other 8-bit rounding may pick the other token), and llama.cpp's greedy
continuation (48 tokens at most, stopping at an end-of-generation token) as text.
"""
import argparse
import ctypes
import os

import llama_cpp

MARGIN = 0.5  # a greedy step whose two best logits are closer than this is a near-tie

CONVERSATIONS = [
    [("user", "안녕하세요?")],
    [("system", "너는 친절한 상담원이야. "), ("user", "  요금제를 바꾸고 싶어요\n"),
     ("assistant", "네, 어떤 요금제로 바꾸시겠어요?"), ("user", "데이터 무제한으로 해 주세요.")],
    [("system", "짧게 대답해."), ("system", "존댓말로."), ("user", "지금 몇 시예요?")],
    [("user", "첫 질문"), ("assistant", " 첫 대답 "), ("user", "\t두 번째 질문\t")],
    [("assistant", "무엇을 도와드릴까요?"), ("user", "카드를 잃어버렸어요.")],
    [("system", "시스템만 있는 대화")],
]

GEN_CONVERSATIONS = [
    CONVERSATIONS[0], CONVERSATIONS[1],
    [("user", "인터넷 요금제를 바꾸고 싶어요. 어떻게 하면 되나요?")],
    [("user", "대한민국의 수도는 어디인가요?")],
    [("system", "고객센터 상담원으로서 답하세요."), ("user", "택배가 아직 안 왔어요.")],
    [("user", "다음 문장을 영어로 번역해 주세요: 오늘 날씨가 좋네요.")],
]

TEMPLATES = [
    "chatml", "llama3", "gemma", "exaone3",
    # template texts, recognized by their markers
    "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}",
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>"
    "{{ m['content'] | trim }}<|eot_id|>{% endfor %}",
    "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ m['role'] }}\\n{{ m['content'] }}<end_of_turn>"
    "{% endfor %}",
    "{% for m in messages %}{% if m['role'] == 'system' %}[|system|]{{ m['content'] }}[|endofturn|]"
    "{% elif m['role'] == 'assistant' %}[|assistant|]{{ m['content'] }}[|endofturn|]{% else %}[|user|]"
    "{{ m['content'] }}{% endif %}{% endfor %}",
    # not a format sori writes
    "{% for m in messages %}### {{ m['role'] }}: {{ m['content'] }}{% endfor %}",
]


def esc(t):
    return t.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def apply(tmpl, conv, add_ass):
    arr = (llama_cpp.llama_chat_message * len(conv))()
    keep = []
    for i, (r, c) in enumerate(conv):
        rb, cb = r.encode(), c.encode()
        keep += [rb, cb]
        arr[i].role = rb
        arr[i].content = cb
    cap = 1 << 16
    buf = ctypes.create_string_buffer(cap)
    n = llama_cpp.llama_chat_apply_template(tmpl.encode(), arr, len(conv), add_ass, buf, cap)
    return None if n < 0 else buf.raw[:n].decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--model")
    a = ap.parse_args()
    cases = []
    for t in TEMPLATES:
        for conv in CONVERSATIONS:
            for add in (True, False):
                cases.append({"template": t, "add_assistant": add, "messages": [list(m) for m in conv],
                              "expected": apply(t, conv, add)})
    with open(os.path.join(a.out, "chat_format.tsv"), "w", encoding="utf-8") as f:
        for c in cases:
            row = [esc(c["template"]), "1" if c["add_assistant"] else "0", str(len(c["messages"]))]
            for r, t in c["messages"]:
                row += [esc(r), esc(t)]
            row.append("-" if c["expected"] is None else esc(c["expected"]))
            f.write("\t".join(row) + "\n")
    print(f"chat_format.tsv: {len(cases)} cases")
    if not a.model:
        return
    import numpy as np
    llm = llama_cpp.Llama(a.model, n_ctx=160, n_threads=os.cpu_count(), verbose=False, logits_all=True)
    gen = []
    for conv in GEN_CONVERSATIONS:
        text = apply("gemma", conv, True)
        toks = llm.tokenize(text.encode(), add_bos=True, special=True)
        llm.reset()
        llm.eval(toks)
        out, sure = b"", -1
        for _ in range(48):  # greedy: llama.cpp's sampler at temperature 0 takes the largest logit
            lg = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
            top = np.argsort(-lg)[:2]
            t = int(top[0])
            if sure < 0 and lg[top[0]] - lg[top[1]] < MARGIN:
                sure = len(out)
            if llama_cpp.llama_token_is_eog(llm._model.vocab, t):
                break
            out += llm.detokenize([t])
            llm.eval([t])
        row = [str(len(conv))]
        for r, t in conv:
            row += [esc(r), esc(t)]
        row += [" ".join(map(str, toks)), str(len(out) if sure < 0 else sure), esc(out.decode("utf-8", "replace"))]
        gen.append("\t".join(row) + "\n")
    with open(os.path.join(a.out, "gemma_generate.tsv"), "w", encoding="utf-8") as f:
        f.writelines(gen)
    print(f"gemma_generate.tsv: {len(gen)} cases")


if __name__ == "__main__":
    main()
