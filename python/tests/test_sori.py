"""The Python package against the sori command and itself: round trips equal to the CLI's
outputs on the bundled samples, streams, the text layer, errors raised as SoriError, four
threads transcribing at once, and no memory growth over 1,000 calls. Run by ctest
(python_tests) with PYTHONPATH at the build tree's staged package; SORI_BIN names the sori
command the outputs are compared with."""
import json
import os
import resource
import subprocess
import threading

import numpy as np
import pytest

import sori

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "data")
MODEL = os.path.join(DATA, "ko-fastconformer-ctc.gguf")
LM = os.path.join(DATA, "ko-tokens-4gram.gguf")
SAMPLES = [os.path.join(DATA, "samples", f) for f in ("ko_16k_question.wav", "ko_16k_statement.wav",
                                                      "ko_8k_ulaw_call.wav")]
SORI = os.environ.get("SORI_BIN", os.path.join(ROOT, "build", "bin", "sori"))

pytestmark = pytest.mark.skipif(not os.path.exists(MODEL), reason="the bundled model is not there")


@pytest.fixture(scope="module")
def model():
    return sori.Model.load(MODEL, lm=LM, threads=2)


@pytest.fixture(scope="module")
def greedy():
    return sori.Model.load(MODEL, threads=2)


def cli_json(path, *args):
    out = subprocess.run([SORI, "transcribe", "--model", MODEL, "--format", "json", *args, path], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("path", SAMPLES)
def test_file_equals_cli(model, path):
    r = model.transcribe(path)
    want = cli_json(path, "--lm", LM)
    assert r.text == want["text"]
    assert [w.text for w in r.words] == [w["word"] for w in want["words"]]
    for w, x in zip(r.words, want["words"]):
        assert abs(w.start - x["start"]) < 0.0015 and abs(w.end - x["end"]) < 0.0015
    assert r.final and r.duration > 0


@pytest.mark.parametrize("path", SAMPLES)
def test_greedy_equals_cli(greedy, path):
    assert greedy.transcribe(path).text == cli_json(path, "--lm", "none")["text"]


def test_samples_bytes_and_array(greedy):
    path = SAMPLES[0]
    want = greedy.transcribe(path).text
    raw = open(path, "rb").read()
    assert greedy.transcribe(raw).text == want  # the bytes of the file
    samples, rate = sori._sori.read_audio(path)
    a = np.frombuffer(samples, dtype=np.float32)
    assert greedy.transcribe(a, sample_rate=rate).text == want  # float32, no copy
    assert greedy.transcribe(a.astype(np.float64), sample_rate=rate).text == want  # converted
    assert greedy.transcribe(memoryview(a), sample_rate=rate).text == want


def test_itn_and_redact():
    m = sori.Model.load(MODEL, threads=2)
    pii = os.path.join(ROOT, "tests", "fixtures", "pii_phone_16k.wav")
    assert "공일공" in m.transcribe(pii).text
    assert "공일공" not in m.transcribe(pii, itn=True).text
    assert "[전화번호]" in m.transcribe(pii, itn=True, redact=True).text
    assert m.transcribe(pii, itn="korean").text == m.transcribe(pii, itn=True).text  # no money in it
    assert "공일공" in m.transcribe(pii, itn="keep-phone").text
    with pytest.raises(sori.SoriError):
        m.transcribe(pii, itn="bogus")


def test_stream_equals_offline(greedy):
    path = SAMPLES[1]
    samples, rate = sori._sori.read_audio(path)
    a = np.frombuffer(samples, dtype=np.float32)
    s = greedy.stream()
    finals = []
    for i in range(0, len(a), rate // 50):  # 20 ms packets
        s.accept(a[i:i + rate // 50], sample_rate=rate)
        finals += s.finals()
        assert isinstance(s.partial.text, str)
    finals += s.finish()
    assert " ".join(f.text for f in finals) == greedy.transcribe(path).text
    assert all(f.final for f in finals)


def test_hotwords_and_rescore():
    """hotwords at load and per stream; an N-best rescoring LM (the tiny llama fixture) loads and
    transcribes; a missing one is refused"""
    m = sori.Model.load(MODEL, threads=2, hotwords=["설날", "며칠"])
    assert m.transcribe(SAMPLES[0]).text
    s = m.stream(hotwords="설날 :3")
    s.accept(np.zeros(1600, dtype=np.float32), sample_rate=16000)
    s.finish()
    tiny = os.path.join(ROOT, "tests", "fixtures", "lm", "llama.q8_0.gguf")
    if os.path.exists(tiny):
        r = sori.Model.load(MODEL, threads=2, lm=LM, rescore=tiny, nbest=4).transcribe(SAMPLES[0])
        assert r.text
    with pytest.raises(sori.SoriError):
        sori.Model.load(MODEL, rescore="/nonexistent-lm.gguf")


def test_voice():
    """a VITS voice (the test fixture with random weights): the same samples as the C API's test
    expects to be deterministic by seed, ids checked, errors raised"""
    path = os.path.join(ROOT, "tests", "fixtures", "vits", "sdp.gguf")
    if not os.path.exists(path):
        pytest.skip("no VITS fixture")
    v = sori.Voice.load(path, threads=1)
    assert v.sample_rate > 0 and len(v.vocab) > 3
    ids = [1, 2, 3, 2, 1]
    a = v.synthesize(ids, seed=7)
    b = v.synthesize(ids, seed=7)
    assert len(a) > 0 and a.dtype == np.float32 and np.array_equal(a, b)
    assert np.all(np.abs(a) <= 1.0)
    assert len(v.synthesize([])) == 0
    with pytest.raises(sori.SoriError):
        v.synthesize([len(v.vocab) + 5])
    assert v.tokenize("t1t2?t3") == [0, 1, 0, 2, 0, 3, 0]  # longest match, unknown left out, blanks
    assert len(v.say("t1t2t3", seed=1)) > 0
    with pytest.raises(sori.SoriError):
        sori.Voice.load(os.path.join(ROOT, "data", "ko-moderate.gguf"))


def test_kokoro_voice():
    """the bundled Kokoro voice: speakers by name, Korean through the front end, speech out"""
    path = os.path.join(ROOT, "data", "kokoro-82m.gguf")
    if not os.path.exists(path):
        pytest.skip("no data/kokoro-82m.gguf (tools/setup.sh)")
    v = sori.Voice.load(path, threads=2)
    assert v.architecture == "sori.kokoro" and v.sample_rate == 24000
    assert "jf_alpha" in v.speaker_names and v.speaker_names[v.default_speaker] == "jf_gongitsune"
    ids = v.tokenize("같이 가요.")
    assert "".join(v.vocab[i] for i in ids) == "kaʨʰi kajo."  # normalize → g2p (가치) → IPA
    a = v.synthesize(ids)
    assert len(a) % 600 == 0 and 0.3 * 24000 < len(a) < 3 * 24000 and np.all(np.abs(a) <= 1.5)
    assert np.array_equal(a, v.say("같이 가요.", speaker="jf_gongitsune"))
    assert not np.array_equal(a[:len(a) // 2], v.say("같이 가요.", speaker="jf_alpha")[:len(a) // 2])
    with pytest.raises(ValueError):
        v.say("가", speaker="nobody")


def test_text_layer():
    assert sori.text.normalize("사과 3개") == "사과 세개"
    assert sori.text.itn("삼만 오천 원") == "₩35000"
    assert sori.text.g2p("국물") == "궁물"
    assert sori.text.redact("010-1234-5678로 전화 주세요") == "[전화번호]로 전화 주세요"


def test_errors(greedy, tmp_path):
    with pytest.raises(sori.SoriError) as e:
        sori.Model.load(str(tmp_path / "none.gguf"))
    assert "none.gguf" in str(e.value) and e.value.status
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(sori.SoriError):
        sori.Model.load(str(bad))
    with pytest.raises(sori.SoriError):
        greedy.transcribe(str(tmp_path / "missing.wav"))
    with pytest.raises(sori.SoriError):
        greedy.transcribe(b"not audio at all")
    with pytest.raises(ValueError):
        greedy.transcribe(np.zeros(100, dtype=np.float32))  # no sample rate
    with pytest.raises(ValueError):
        greedy.transcribe(np.zeros((2, 100), dtype=np.float32), sample_rate=16000)
    with pytest.raises(sori.SoriError):
        sori.Model.load(MODEL, device="tpu")
    with pytest.raises(sori.SoriError):
        greedy.transcribe(np.zeros(100, dtype=np.float32), sample_rate=0)
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate never reaches C
        sori.text.g2p("a\ud800")


def test_empty_and_silence(greedy):
    assert greedy.transcribe(np.zeros(0, dtype=np.float32), sample_rate=16000).text == ""
    assert greedy.transcribe(np.zeros(16000, dtype=np.float32), sample_rate=16000).text == ""


def test_threads(model):
    """four Python threads on one model at once (the GIL released) give the texts one thread gives"""
    want = {p: model.transcribe(p).text for p in SAMPLES}
    got, errors = [], []

    def work():
        try:
            for p in SAMPLES * 2:
                got.append((p, model.transcribe(p).text))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert len(got) == 4 * 2 * len(SAMPLES)
    assert all(t == want[p] for p, t in got)


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_no_growth(greedy):
    """1,000 calls (transcribe, a stream, the text layer) end where the first 100 left the memory"""
    a = np.frombuffer(sori._sori.read_audio(SAMPLES[0])[0], dtype=np.float32)[:8000].copy()

    def once():
        greedy.transcribe(a, sample_rate=16000)
        s = greedy.stream()
        s.accept(a, sample_rate=16000)
        s.finish()
        sori.text.normalize("3시 30분")

    for _ in range(100):
        once()
    before = rss_kb()
    for _ in range(900):
        once()
    grew = rss_kb() - before
    assert grew < 2048, f"RSS grew by {grew} kB over 900 calls"
