/* sori features FILE [--kind kaldi|nemo] [--mel-bins N] [--sample-rate HZ]
 *                     [--channel N|mix] -o OUT.npy */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "npy.h"
#include "sori/audio.h"
#include "sori/features.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: sori features FILE [--kind kaldi|nemo] [--mel-bins N] [--sample-rate HZ]\n"
            "                     [--channel N|mix] -o OUT.npy\n"
            "Writes the log-mel feature matrix (frames x bins, float32) of FILE as NumPy .npy.\n"
            "FILE is resampled to --sample-rate (default 16000). Defaults: kaldi, 80 bins,\n"
            "channels mixed down; kaldi: dither 0, snip_edges; nemo: per-feature normalization.\n");
}

int cmd_features(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    sori_feature_kind kind = SORI_FEAT_KALDI;
    int mels = 80, rate = 16000, channel = SORI_CHANNEL_MIX;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-o") == 0 && v) {
            out = v;
            i++;
        } else if (strcmp(a, "--kind") == 0 && v) {
            if (strcmp(v, "kaldi") == 0)
                kind = SORI_FEAT_KALDI;
            else if (strcmp(v, "nemo") == 0)
                kind = SORI_FEAT_NEMO;
            else {
                fprintf(stderr, "sori features: --kind must be kaldi or nemo, not '%s'\n", v);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--mel-bins") == 0 && v) {
            if (!parse_int_arg(v, 1, 512, &mels)) {
                fprintf(stderr, "sori features: --mel-bins '%s' not in 1..512\n", v);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--sample-rate") == 0 && v) {
            if (!parse_int_arg(v, 1000, 192000, &rate)) {
                fprintf(stderr, "sori features: --sample-rate '%s' not in 1000..192000\n", v);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--channel") == 0 && v) {
            if (strcmp(v, "mix") != 0 && !parse_int_arg(v, 0, SORI_AUDIO_MAX_CHANNELS - 1, &channel)) {
                fprintf(stderr, "sori features: --channel '%s' (a channel number or mix)\n", v);
                return 2;
            }
            i++;
        } else if ((strcmp(a, "--help") == 0) || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "sori features: unknown option '%s'\n", a);
            usage();
            return 2;
        } else if (!in) {
            in = a;
        } else {
            fprintf(stderr, "sori features: one input file at a time ('%s')\n", a);
            return 2;
        }
    }
    if (!in || !out) {
        usage();
        return 2;
    }
    sori_error err = {0};
    sori_audio audio = {0}, mono = {0}, res = {0};
    sori_features *fx = NULL;
    float *feats = NULL;
    int rc = 1;
    if (sori_audio_read_file(in, &audio, &err) != SORI_OK) {
        fprintf(stderr, "sori features: %s\n", err.message); /* names the file */
        goto done;
    }
    if (sori_audio_select_channel(&audio, channel, &mono, &err) != SORI_OK ||
        sori_audio_resample(&mono, rate, &res, &err) != SORI_OK) {
        fprintf(stderr, "sori features: %s: %s\n", in, err.message);
        goto done;
    }
    sori_feature_params p = sori_feature_default_params(kind);
    p.n_mels = mels;
    p.sample_rate_hz = rate;
    if (kind == SORI_FEAT_NEMO) {
        p.win_length = rate / 40; /* 25 ms */
        p.hop_length = rate / 100; /* 10 ms */
        p.n_fft = 2;
        while (p.n_fft < p.win_length)
            p.n_fft <<= 1;
    }
    if (sori_features_create(&p, &fx, &err) != SORI_OK) {
        fprintf(stderr, "sori features: %s\n", err.message);
        goto done;
    }
    int64_t frames = sori_features_num_frames(fx, res.n_frames), got = 0;
    int dim = sori_features_dim(fx);
    feats = malloc((size_t)(frames ? frames : 1) * dim * sizeof(float));
    if (!feats) {
        fprintf(stderr, "sori features: %s: out of memory\n", in);
        goto done;
    }
    if (sori_features_compute(fx, res.samples, res.n_frames, feats, frames, &got, &err) != SORI_OK) {
        fprintf(stderr, "sori features: %s: %s\n", in, err.message);
        goto done;
    }
    if (npy_write_f32(out, feats, got, dim) != 0) {
        fprintf(stderr, "sori features: %s: cannot write: %s\n", out, strerror(errno));
        goto done;
    }
    fprintf(stderr, "%s: %lld frames x %d bins -> %s\n", in, (long long)got, dim, out);
    rc = 0;
done:
    free(feats);
    sori_features_free(fx);
    sori_audio_free(&audio);
    sori_audio_free(&mono);
    sori_audio_free(&res);
    return rc;
}
