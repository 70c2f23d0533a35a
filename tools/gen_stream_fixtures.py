#!/usr/bin/env python3
"""Golden fixtures for cache-aware streaming and the hybrid RNNT+CTC head
(tests/test_stream.c).

Builds a small FastConformer hybrid RNNT+CTC model with a SentencePiece
tokenizer (EncDecHybridRNNTCTCBPEModel: dw_striding x8 with causal
downsampling, chunked_limited attention, causal depthwise convolutions, batch
norm), sets every parameter and buffer to random values, converts it with
tools/nemo_to_gguf.py and records NeMo's own outputs:

  NAME.gguf               the converted model
  NAME.feats.f32          features (frames x 80) of the test signal
  NAME.enc.f32            offline encoder output (frames' x d_model)
  NAME.logp.f32           offline CTC log-probs (frames' x vocab+1)
  NAME.rnnt.txt           offline RNNT greedy token ids (one line)
  NAME.stream.enc.f32     encoder output of NeMo's cache_aware_stream_step,
                          steps concatenated (CacheAwareStreamingAudioBuffer's
                          chunking, keep_all_outputs on the last step)
  NAME.stream.logp.f32    CTC log-probs of those outputs
  NAME.stream.steps.txt   per step: feature frames given, output frames
  manifest.tsv            name, frames, frames', d_model, vocab+1, stream frames'

Pinned stack: tools/requirements-reference.txt.
    python3 tools/gen_stream_fixtures.py
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
from omegaconf import OmegaConf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_conformer_fixtures import randomize  # noqa: E402  (every parameter and buffer)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "stream")
SIGNAL = os.path.join(HERE, "..", "tests", "fixtures", "features", "signal.f32")

SENTENCES = ["안녕하세요 반갑습니다", "오늘 날씨가 좋네요", "전화 연결해 드리겠습니다",
             "잠시만 기다려 주세요", "감사합니다 좋은 하루 되세요", "네 알겠습니다"]


def tokenizer(tmp):
    import sentencepiece as spm
    txt = os.path.join(tmp, "t.txt")
    with open(txt, "w", encoding="utf-8") as f:
        f.write("\n".join(SENTENCES * 4) + "\n")
    spm.SentencePieceTrainer.train(input=txt, model_prefix=os.path.join(tmp, "tokenizer"), vocab_size=40,
                                   model_type="unigram", character_coverage=1.0, num_threads=1,
                                   unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(tmp, "tokenizer.model"))
    with open(os.path.join(tmp, "vocab.txt"), "w", encoding="utf-8") as f:
        for i in range(sp.get_piece_size()):
            f.write(sp.id_to_piece(i) + "\n")
    return tmp


def hybrid_model(tok_dir, att_context):
    from nemo.collections.asr.models import EncDecHybridRNNTCTCBPEModel
    d = 64
    cfg = OmegaConf.create({
        "sample_rate": 16000,
        "tokenizer": {"dir": tok_dir, "type": "bpe"},
        "model_defaults": {"enc_hidden": d, "pred_hidden": 48, "joint_hidden": 56},
        "preprocessor": {"_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                         "sample_rate": 16000, "normalize": "NA", "window_size": 0.025,
                         "window_stride": 0.01, "window": "hann", "features": 80, "n_fft": 512,
                         "dither": 0.0, "pad_to": 0},
        "encoder": {"_target_": "nemo.collections.asr.modules.ConformerEncoder", "feat_in": 80, "n_layers": 2,
                    "d_model": d, "subsampling": "dw_striding", "subsampling_factor": 8,
                    "subsampling_conv_channels": 32, "causal_downsampling": True, "n_heads": 4,
                    "ff_expansion_factor": 4, "self_attention_model": "rel_pos",
                    "att_context_size": att_context, "att_context_style": "chunked_limited",
                    "conv_kernel_size": 9, "conv_context_size": "causal", "conv_norm_type": "batch_norm",
                    "xscaling": True, "untie_biases": True, "dropout": 0.0, "dropout_pre_encoder": 0.0,
                    "dropout_emb": 0.0, "dropout_att": 0.0},
        "decoder": {"_target_": "nemo.collections.asr.modules.RNNTDecoder", "normalization_mode": None,
                    "random_state_sampling": False, "blank_as_pad": True,
                    "prednet": {"pred_hidden": 48, "pred_rnn_layers": 1, "t_max": None, "dropout": 0.0}},
        "joint": {"_target_": "nemo.collections.asr.modules.RNNTJoint", "log_softmax": None,
                  "preserve_memory": False, "fuse_loss_wer": False,
                  "jointnet": {"joint_hidden": 56, "activation": "relu", "dropout": 0.0}},
        "decoding": {"strategy": "greedy", "greedy": {"max_symbols": 10}},
        "aux_ctc": {"ctc_loss_weight": 0.3,
                    "decoder": {"_target_": "nemo.collections.asr.modules.ConvASRDecoder", "feat_in": d,
                                "num_classes": -1, "vocabulary": []},
                    "decoding": {"strategy": "greedy"}},
        "loss": {"loss_name": "default"},
        "optim": None,
    })
    return EncDecHybridRNNTCTCBPEModel(cfg=cfg)


def rnnt_greedy(model, enc, elen):
    """Greedy RNNT over [1, D, T] with NeMo's own greedy decoder, and the
    smallest top-1 margin along its path (recomputed step by step here with
    NeMo's modules; the sequence must agree)."""
    with torch.no_grad():
        hyps = model.decoding.rnnt_decoder_predictions_tensor(encoder_output=enc, encoded_lengths=elen,
                                                              return_hypotheses=True)
    h = hyps[0] if not isinstance(hyps, tuple) else hyps[0][0]
    seq = h.y_sequence.tolist() if torch.is_tensor(h.y_sequence) else list(h.y_sequence)
    blank = model.decoder.blank_idx
    max_sym = model.cfg.decoding.greedy.max_symbols
    mine, margin, hidden, last = [], float("inf"), None, None
    with torch.no_grad():
        f_all = model.joint.project_encoder(enc.transpose(1, 2))  # [1, T, H]
        for t in range(int(elen[0])):
            for _ in range(max_sym):
                y = None if last is None else torch.tensor([[last]])
                g, hid2 = model.decoder.predict(y, hidden, add_sos=False, batch_size=1)
                gp = model.joint.project_prednet(g)  # [1, 1, H]
                logits = model.joint.joint_net(f_all[:, t:t + 1, None, :] + gp[:, None, :, :])[0, 0, 0]
                top = torch.topk(logits, 2).values
                margin = min(margin, float(top[0] - top[1]))
                k = int(logits.argmax())
                if k == blank:
                    break
                mine.append(k)
                hidden, last = hid2, k
    if mine != seq:
        sys.exit(f"own greedy {mine} != NeMo's {seq}")
    return seq, margin


def train_rnnt(m, enc, elen, steps=200):
    params = list(m.decoder.parameters()) + list(m.joint.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    target = m.tokenizer.text_to_ids(SENTENCES[0] + " " + SENTENCES[1])
    y = torch.tensor([target])
    yl = torch.tensor([len(target)])
    m.decoder.train()
    m.joint.train()
    for _ in range(steps):
        g, gl, _ = m.decoder(targets=y, target_length=yl)
        joint = m.joint(encoder_outputs=enc, decoder_outputs=g)
        loss = m.loss(log_probs=joint, targets=y, input_lengths=elen, target_lengths=yl)
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
    m.eval()
    print(f"RNNT head trained: loss {loss.mean().item():.3f}, target {target}")


def stream(model, feats):
    """NeMo's cache-aware streaming of one utterance's features [1, 80, T]."""
    from nemo.collections.asr.parts.utils.streaming_utils import CacheAwareStreamingAudioBuffer
    enc = model.encoder
    enc.setup_streaming_params()
    buf = CacheAwareStreamingAudioBuffer(model=model, online_normalization=False)
    buf.append_processed_signal(feats)
    cache = enc.get_initial_cache_state(batch_size=1)
    outs, steps = [], []
    for step, (chunk, clen) in enumerate(iter(buf)):
        drop = 0 if step == 0 else enc.streaming_cfg.drop_extra_pre_encoded
        with torch.no_grad():
            e, elen, c1, c2, c3 = enc.cache_aware_stream_step(
                processed_signal=chunk, processed_signal_length=clen, cache_last_channel=cache[0],
                cache_last_time=cache[1], cache_last_channel_len=cache[2],
                keep_all_outputs=buf.is_buffer_empty(), drop_extra_pre_encoded=drop)
        cache = (c1, c2, c3)
        n = int(elen[0])
        outs.append(e[0, :, :n].T)
        steps.append((int(clen[0]), n))
    return torch.cat(outs), steps, enc.streaming_cfg


def main():
    os.makedirs(OUT, exist_ok=True)
    x = np.fromfile(SIGNAL, dtype=np.float32)
    x = np.concatenate([x, 0.7 * x[::-1], 0.5 * x])  # about 2.3 s: several chunks
    rows = []
    torch.manual_seed(0)
    for name, att, seed in [("hybrid_stream", [12, 3], 21)]:
        tok_dir = tempfile.mkdtemp()  # kept until the model is saved for the last time
        m = hybrid_model(tokenizer(tok_dir), att)
        randomize(m, seed)
        m.eval()
        with torch.no_grad():
            sig = torch.from_numpy(x)[None]
            feats, flen = m.preprocessor(input_signal=sig, length=torch.tensor([len(x)]))
            e, elen = m.encoder(audio_signal=feats, length=flen)
            logp = m.ctc_decoder(encoder_output=e)
        # The random prediction network and joint give a degenerate greedy path
        # (one symbol max_symbols times per frame), so they are trained briefly
        # on the frozen random encoder's output to emit SENTENCES: the greedy
        # path is then varied and its decisions clear. Their weights stay
        # non-trivial; the encoder keeps its random ones.
        for _ in range(6):  # train on until every greedy decision is clear
            train_rnnt(m, e, elen)
            tokens, margin = rnnt_greedy(m, e, elen)
            print(f"RNNT greedy: {len(tokens)} tokens, smallest margin {margin:.4f}")
            if margin >= 0.05:
                break
        if margin < 0.05:
            sys.exit(f"the RNNT greedy path has a decision with margin {margin:.4f}: not a clear fixture")
        with tempfile.TemporaryDirectory() as tmp2:  # convert again with the trained head
            nemo = os.path.join(tmp2, name + ".nemo")
            m.save_to(nemo)
            subprocess.run([sys.executable, os.path.join(HERE, "nemo_to_gguf.py"), nemo,
                            os.path.join(OUT, name + ".gguf")], check=True)
        shutil.rmtree(tok_dir)
        se, steps, scfg = stream(m, feats[:, :, : flen[0]])  # the valid frames only
        with torch.no_grad():
            slogp = m.ctc_decoder(encoder_output=se.T[None])[0]
        f = feats[0, :, : flen[0]].T.contiguous().numpy().astype(np.float32)
        f.tofile(os.path.join(OUT, name + ".feats.f32"))
        e[0, :, : elen[0]].T.contiguous().numpy().astype(np.float32).tofile(os.path.join(OUT, name + ".enc.f32"))
        logp[0, : elen[0]].contiguous().numpy().astype(np.float32).tofile(os.path.join(OUT, name + ".logp.f32"))
        se.contiguous().numpy().astype(np.float32).tofile(os.path.join(OUT, name + ".stream.enc.f32"))
        slogp.contiguous().numpy().astype(np.float32).tofile(os.path.join(OUT, name + ".stream.logp.f32"))
        with open(os.path.join(OUT, name + ".rnnt.txt"), "w") as g:
            g.write(" ".join(str(t) for t in tokens) + "\n")
        with open(os.path.join(OUT, name + ".stream.steps.txt"), "w") as g:
            for a, b in steps:
                g.write(f"{a}\t{b}\n")
        rows.append((name, f.shape[0], int(elen[0]), e.shape[1], logp.shape[-1], se.shape[0]))
        print(f"{name}: streaming cfg {scfg}; steps {steps}; rnnt {tokens}; smallest margin {margin:.4f}")
        print(f"offline vs streaming encoder max diff: "
              f"{(e[0, :, :se.shape[0]].T - se).abs().max().item():.3e} over {se.shape[0]} frames")
    with open(os.path.join(OUT, "manifest.tsv"), "w") as mf:
        for r in rows:
            mf.write("\t".join(str(v) for v in r) + "\n")


if __name__ == "__main__":
    main()
