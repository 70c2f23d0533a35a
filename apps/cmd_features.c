/* sori features FILE... [--kind kaldi|nemo] [--mel-bins N] [--sample-rate HZ]
 *                        [--channel N|mix] [--allow-damaged] -o OUT.npy|DIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "npy.h"
#include "sori/audio.h"
#include "sori/features.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: sori features FILE... [--kind kaldi|nemo] [--mel-bins N] [--sample-rate HZ]\n"
            "                     [--channel N|mix] [--allow-damaged] -o OUT.npy|DIR\n"
            "Writes the log-mel feature matrix (frames x bins, float32) of each FILE as NumPy\n"
            ".npy: to OUT.npy for one file, or DIR/NAME.npy for each of several (DIR must\n"
            "exist). FILEs are resampled to --sample-rate (default 16000). Defaults: kaldi,\n"
            "80 bins, channels mixed down; kaldi: dither 0, snip_edges; nemo: per-feature\n"
            "normalization. A bad file is reported and skipped; the exit status is 1 if any\n"
            "failed. A damaged file is refused with the place of the damage unless\n"
            "--allow-damaged (what decodes, silence where audio was lost; a warning).\n");
}

/* One file; 0 on success. */
static int features_of(const char *in, const char *out, const sori_features *fx, int rate,
                       int channel, int allow_damaged)
{
    sori_error err = {0};
    sori_audio audio = {0}, mono = {0}, res = {0};
    sori_audio_damage dmg;
    sori_audio_read_params rp = sori_audio_read_default_params();
    rp.allow_damaged = allow_damaged;
    float *feats = NULL;
    int rc = 1;
    if (sori_audio_read_file_with_params(in, &rp, &audio, &dmg, &err) != SORI_OK) {
        fprintf(stderr, "sori features: %s%s\n", err.message, /* names the file */
                dmg.n_places && !allow_damaged ? " (--allow-damaged keeps what decodes)" : "");
        goto done;
    }
    if (dmg.n_places)
        fprintf(stderr, "sori features: warning: %s: damaged at byte %lld (%.2f s): %s; %.2f s lost, now silence\n",
                in, (long long)dmg.byte_offset, dmg.lost_from_s, dmg.reason, dmg.lost_s);
    if (sori_audio_select_channel(&audio, channel, &mono, &err) != SORI_OK ||
        sori_audio_resample(&mono, rate, &res, &err) != SORI_OK) {
        fprintf(stderr, "sori features: %s: %s\n", in, err.message);
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
    sori_audio_free(&audio);
    sori_audio_free(&mono);
    sori_audio_free(&res);
    return rc;
}

int cmd_features(int argc, char **argv)
{
    const char *out = NULL;
    const char **inputs = calloc((size_t)(argc ? argc : 1), sizeof(char *));
    int n_in = 0;
    sori_feature_kind kind = SORI_FEAT_KALDI;
    int mels = 80, rate = 16000, channel = SORI_CHANNEL_MIX, rc = 2, allow_damaged = 0;
    if (!inputs)
        return 1;
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
                goto done;
            }
            i++;
        } else if (strcmp(a, "--mel-bins") == 0 && v) {
            if (!parse_int_arg(v, 1, 512, &mels)) {
                fprintf(stderr, "sori features: --mel-bins '%s' not in 1..512\n", v);
                goto done;
            }
            i++;
        } else if (strcmp(a, "--sample-rate") == 0 && v) {
            if (!parse_int_arg(v, 1000, 192000, &rate)) {
                fprintf(stderr, "sori features: --sample-rate '%s' not in 1000..192000\n", v);
                goto done;
            }
            i++;
        } else if (strcmp(a, "--channel") == 0 && v) {
            if (strcmp(v, "mix") != 0 && !parse_int_arg(v, 0, SORI_AUDIO_MAX_CHANNELS - 1, &channel)) {
                fprintf(stderr, "sori features: --channel '%s' (a channel number or mix)\n", v);
                goto done;
            }
            i++;
        } else if (strcmp(a, "--allow-damaged") == 0) {
            allow_damaged = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            rc = 0;
            goto done;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "sori features: unknown option '%s'\n", a);
            usage();
            goto done;
        } else {
            inputs[n_in++] = a;
        }
    }
    if (!n_in || !out) {
        usage();
        goto done;
    }
    struct stat sb;
    int out_is_dir = stat(out, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (n_in > 1 && !out_is_dir) {
        fprintf(stderr, "sori features: with %d files, -o must be an existing directory\n", n_in);
        goto done;
    }
    sori_feature_params p = sori_feature_default_params(kind);
    p.n_mels = mels;
    p.sample_rate_hz = rate;
    if (kind == SORI_FEAT_NEMO) {
        p.win_length = rate / 40;  /* 25 ms */
        p.hop_length = rate / 100; /* 10 ms */
        p.n_fft = 2;
        while (p.n_fft < p.win_length)
            p.n_fft <<= 1;
    }
    sori_features *fx = NULL;
    sori_error err = {0};
    if (sori_features_create(&p, &fx, &err) != SORI_OK) {
        fprintf(stderr, "sori features: %s\n", err.message);
        rc = 1;
        goto done;
    }
    int failed = 0;
    for (int k = 0; k < n_in; k++) {
        char path[4096];
        if (out_is_dir) {
            const char *base = strrchr(inputs[k], '/');
            base = base ? base + 1 : inputs[k];
            const char *dot = strrchr(base, '.');
            int len = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
            snprintf(path, sizeof path, "%s/%.*s.npy", out, len, base);
        } else {
            snprintf(path, sizeof path, "%s", out);
        }
        failed += features_of(inputs[k], path, fx, rate, channel, allow_damaged) != 0;
    }
    sori_features_free(fx);
    if (failed && n_in > 1)
        fprintf(stderr, "sori features: %d of %d files failed\n", failed, n_in);
    rc = failed ? 1 : 0;
done:
    free(inputs);
    return rc;
}
