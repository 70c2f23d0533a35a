"""sori: Korean speech recognition and the Korean text layer, from Python.

    import sori
    model = sori.Model.load()                     # the default model, as `sori transcribe` picks it
    result = model.transcribe("call.wav")         # a path, bytes of an audio file, or float32 samples
    print(result.text)
    for w in result.words:
        print(w.start, w.end, w.text, w.confidence)

    stream = model.stream()                       # live audio, any rate
    for chunk in chunks:                          # float32 arrays
        stream.accept(chunk, sample_rate=8000)
        for final in stream.finals():
            print(final.text)
    stream.finish()

    sori.text.normalize("3시 30분")              # '세시 삼십분'

The work runs in libsori (C); calls release the GIL, so Python threads transcribe in parallel.
Errors raise `sori.SoriError` with sori's message (its `status` names the kind: "io error",
"format error", ...).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Union

from . import _sori

__all__ = ["Model", "Stream", "Result", "Word", "Segment", "Voice", "SoriError", "text", "version",
           "default_model_path"]

SoriError = _sori.Error
version = _sori.version

_HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Word:
    text: str
    start: float  # seconds
    end: float
    confidence: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Result:
    text: str
    words: List[Word] = field(default_factory=list)
    segments: List[Segment] = field(default_factory=list)
    duration: float = 0.0  # seconds of audio
    confidence: float = 1.0
    final: bool = True
    language: str = ""

    @classmethod
    def _from(cls, d: dict) -> "Result":
        return cls(text=d["text"], words=[Word(*w) for w in d["words"]], segments=[Segment(*s) for s in d["segments"]],
                   duration=d["duration"], confidence=d["confidence"], final=d["final"], language=d["language"])


def _data_dirs() -> List[str]:
    dirs = []
    if os.environ.get("SORI_DATA"):
        dirs.append(os.environ["SORI_DATA"])
    dirs.append(os.path.join(_HERE, "data"))  # a wheel's bundled models
    # a source checkout (the package imported from python/ or the build tree)
    for up in (("..", ".."), ("..", "..", "..")):
        dirs.append(os.path.normpath(os.path.join(_HERE, *up, "data")))
    return dirs


def default_model_path() -> str:
    """The model `sori transcribe` uses by default: Whisper base where tools/setup.sh fetched it
    (real speech), else the bundled Conformer. Searched in $SORI_DATA, the package's data/, and a
    source checkout's data/."""
    for name in ("whisper-base-f16.gguf", "ko-fastconformer-ctc.gguf"):
        for d in _data_dirs():
            p = os.path.join(d, name)
            if os.path.isfile(p):
                return p
    raise SoriError("no default model: neither whisper-base-f16.gguf nor ko-fastconformer-ctc.gguf in "
                    + ", ".join(_data_dirs()) + " (set SORI_DATA, or pass a path)")


def _bundled(name: str) -> str:
    for d in _data_dirs():
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
    raise SoriError(f"no {name} in " + ", ".join(_data_dirs()) + " (tools/setup.sh fetches it; or pass a path)")


def _samples(x) -> memoryview:
    """float32 samples as a buffer, without a copy when they are already C-contiguous float32."""
    try:
        import numpy as np
    except ImportError:  # array('f') and memoryviews still work
        np = None
    if np is not None and not isinstance(x, (bytes, bytearray, memoryview)):
        a = np.asarray(x)
        if a.ndim != 1:
            raise ValueError(f"samples: one channel expected, not shape {a.shape}")
        if a.dtype != np.float32 or not a.flags["C_CONTIGUOUS"]:
            a = np.ascontiguousarray(a, dtype=np.float32)
        return memoryview(a).cast("B")
    m = memoryview(x)
    if m.format not in ("f", "B", "b", "c") or (m.format == "f" and m.ndim != 1):
        raise ValueError("samples: float32 expected")
    return m.cast("B") if m.format == "f" else m


class Model:
    """A loaded model (Conformer/FastConformer with CTC or RNN-T, or Whisper), shared by any number
    of threads and streams. Load with Model.load()."""

    def __init__(self, handle, path: str):
        self._h = handle
        self.path = path
        info = _sori.model_info(handle)
        self.sample_rate: int = info["sample_rate"]
        self.arch: str = info["arch"]
        self.name: str = info["name"]
        self.backend: str = info["backend"]

    @classmethod
    def load(cls, path: Optional[str] = None, *, device: str = "auto", threads: int = 0, lm: Optional[str] = None,
             beam: Optional[int] = None, hotwords: Optional[Union[str, Sequence[str]]] = None,
             language: Optional[str] = None, rescore: Optional[str] = None, nbest: int = 8,
             rescore_weight: float = 0.3, rescore_bonus: float = 0.5) -> "Model":
        """Load a model file (GGUF). path None: default_model_path() (the bundled Conformer with its
        n-gram LM, as the command pairs them). device: "cpu", "cuda", "cuda:N"
        or "auto". threads: CPU threads (0: the machine's cores). lm: an n-gram LM for the CTC beam
        search (None: none). beam: the search's width (None: the model's default). hotwords:
        phrases (a list, or one per line, each optionally " :SCORE"). language: Whisper's ("ko").
        rescore: a transformer LM (llama.cpp GGUF) that rescores the nbest best hypotheses of each
        final by rescore_weight * ln p_LM + rescore_bonus per LM token (as `--rescore`)."""
        if path is None:
            path = default_model_path()
            # the bundled Conformer comes with its n-gram LM, as `sori transcribe` pairs them
            lm_beside = os.path.join(os.path.dirname(path), "ko-tokens-4gram.gguf")
            if lm is None and path.endswith("ko-fastconformer-ctc.gguf") and os.path.isfile(lm_beside):
                lm = lm_beside
        if hotwords is not None and not isinstance(hotwords, str):
            hotwords = "\n".join(hotwords)
        h = _sori.model_load(os.fspath(path), device=device, threads=threads, lm=lm,
                             beam=-1 if beam is None else beam, hotwords=hotwords, language=language,
                             rescore=None if rescore is None else os.fspath(rescore), nbest=nbest,
                             rescore_weight=rescore_weight, rescore_bonus=rescore_bonus)
        return cls(h, path)

    def transcribe(self, audio, sample_rate: Optional[int] = None, *, itn: Union[bool, str] = False,
                   redact: bool = False) -> Result:
        """Transcribe a file path, the bytes of an audio file (WAV, FLAC, Ogg/Opus, MP3 ...), or
        float32 samples (a numpy array or any buffer) at sample_rate (needed for samples). A path is
        decoded as it is read. itn: numbers in written form (True: NeMo's forms, ₩35000; or options
        as the command's --itn-options: "korean" for 35,000원, "thousands,keep-date" ...); redact:
        personal data masked."""
        itn = 0 if not itn else 1 if itn is True else 1 + _sori.itn_options(itn)
        if isinstance(audio, (str, os.PathLike)):
            return Result._from(_sori.transcribe_file(self._h, os.fspath(audio), itn=itn, redact=redact))
        if isinstance(audio, (bytes, bytearray)) and sample_rate is None:
            samples, sample_rate = _sori.read_audio(bytes(audio))
            return Result._from(_sori.transcribe_samples(self._h, samples, sample_rate, itn=itn, redact=redact))
        if sample_rate is None:
            raise ValueError("sample_rate is needed with samples")
        return Result._from(_sori.transcribe_samples(self._h, _samples(audio), int(sample_rate), itn=itn,
                                                     redact=redact))

    def stream(self, *, endpointing: bool = True, hotwords: Optional[Union[str, Sequence[str]]] = None,
               language: Optional[str] = None) -> "Stream":
        """A live stream on this model (one thread at a time uses it)."""
        if hotwords is not None and not isinstance(hotwords, str):
            hotwords = "\n".join(hotwords)
        return Stream(self, _sori.stream_create(self._h, endpointing=endpointing, hotwords=hotwords,
                                                language=language))


class Stream:
    """Streaming recognition: accept() audio as it comes; finals() gives the utterances ended by an
    endpoint; partial is the utterance so far; finish() ends the input (the last utterance becomes
    a final)."""

    def __init__(self, model: Model, handle):
        self.model = model
        self._h = handle

    def accept(self, samples, sample_rate: int) -> None:
        _sori.stream_accept(self._h, _samples(samples), int(sample_rate))

    @property
    def partial(self) -> Result:
        return Result._from(_sori.stream_result(self._h))

    def finals(self) -> List[Result]:
        return [Result._from(d) for d in _sori.stream_pop_finals(self._h)]

    def finish(self) -> List[Result]:
        """End of input: every remaining final (the last utterance included)."""
        _sori.stream_finish(self._h)
        out = self.finals()
        last = Result._from(_sori.stream_result(self._h))
        if last.text:
            out.append(last)
        return out


class Voice:
    """A text-to-speech voice: a Kokoro voice (data/kokoro-82m.gguf, which tools/setup.sh fetches and
    converts: Korean through sori's normalization, standard pronunciation and IPA) or a VITS voice
    (tools/vits_to_gguf.py: characters, as MMS-TTS voices take them). say() speaks text through the
    voice's front end (tokenize); synthesize() takes token ids."""

    def __init__(self, path: Optional[str] = None, threads: int = 0):
        path = path or _bundled("kokoro-82m.gguf")
        self._h = _sori.voice_load(os.fspath(path), threads=threads)
        info = _sori.voice_info(self._h)
        self.path = path
        self.architecture: str = info["architecture"]
        self.sample_rate: int = info["sample_rate"]
        self.speakers: int = info["speakers"]
        self.speaker_names: List[str] = info["speaker_names"]
        self.default_speaker: int = info["default_speaker"]
        self.name: str = info["name"]
        self.add_blank: bool = info["add_blank"]
        self.vocab: List[Optional[str]] = info["vocab"]

    @classmethod
    def load(cls, path: Optional[str] = None, *, threads: int = 0) -> "Voice":
        return cls(path, threads)

    def tokenize(self, text: str) -> List[int]:
        """The voice's ids for text (sori_tts_text_to_ids): for Kokoro, Korean normalized, said by the
        standard pronunciation and written in IPA; for VITS, the longest vocabulary entry at each place
        (a blank, id 0, between them when the voice adds blanks). What the voice lacks is left out."""
        return _sori.voice_tokenize(self._h, text)

    def synthesize(self, ids: Sequence[int], *, speaker: Union[int, str, None] = None,
                   length_scale: Optional[float] = None, noise_scale: Optional[float] = None,
                   noise_scale_duration: Optional[float] = None, seed: int = 0):
        """float32 samples (numpy when it is installed, else array('f')) at self.sample_rate.
        speaker: an index, a Kokoro speaker's name ("jf_gongitsune"), or None for the voice's default."""
        from array import array

        if isinstance(speaker, str):
            if speaker not in self.speaker_names:
                raise ValueError(f"the voice has no speaker {speaker!r}")
            speaker = self.speaker_names.index(speaker)
        pcm = _sori.voice_synthesize(self._h, array("i", ids), speaker=-1 if speaker is None else speaker,
                                     length_scale=-1.0 if length_scale is None else length_scale,
                                     noise_scale=-1.0 if noise_scale is None else noise_scale,
                                     noise_scale_duration=-1.0 if noise_scale_duration is None else noise_scale_duration,
                                     seed=seed)
        try:
            import numpy as np
            return np.frombuffer(pcm, dtype=np.float32)
        except ImportError:
            return array("f", pcm)

    def say(self, text: str, **options):
        """Speak text (see tokenize); options as synthesize()."""
        return self.synthesize(self.tokenize(text), **options)


class text:
    """The Korean text layer (docs/text.md)."""

    normalize = staticmethod(_sori.tn)  # written → spoken Hangul: "3개" → "세개"
    itn = staticmethod(_sori.itn)  # spoken numbers → written: "삼만 오천 원" → "₩35000"
    g2p = staticmethod(_sori.g2p)  # standard pronunciation: "국물" → "궁물"
    redact = staticmethod(_sori.redact)  # personal data masked: "010-1234-5678" → "[전화번호]"

