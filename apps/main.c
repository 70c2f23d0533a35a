/* The sori command. Subcommands are added by the modules as they land;
 * this file only parses the command line and calls the public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "sori/common.h"
#include "sori/runtime.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sori <command> [options]\n"
            "\n"
            "commands:\n"
            "  check [--device cpu|cuda[:N]|auto] [--threads N]\n"
            "                      run the backend self-check (a Conformer-shaped workload\n"
            "                      against a double-precision reference)\n"
            "  features FILE [--kind kaldi|nemo] [--mel-bins N] [--sample-rate HZ]\n"
            "           [--channel N|mix] -o OUT.npy\n"
            "                      write FILE's log-mel features as a NumPy array\n"
            "  transcribe [--model M.gguf] [--format text|json|tsv|srt|vtt] [--threads N]\n"
            "           [--device D] [--channel N|mix|each] [-o DIR] FILES|DIRS|-\n"
            "                      transcribe audio files\n"
            "  mic [--model M.gguf] [--device N|NAME] [--list-devices]\n"
            "                      transcribe the microphone live\n"
            "  serve [--listen HOST:PORT] [--model NAME=M.gguf]... [--token-file F]\n"
            "                      stream calls over WebSocket (docs/protocol.md)\n"
            "  lm score|tokenize|generate --lm MODEL.gguf [...]\n"
            "                      score lines, tokenize, or continue a prompt with a\n"
            "                      transformer LM (llama.cpp GGUF: gemma3, llama, qwen2/3)\n"
            "  text normalize|itn|g2p|redact|moderate [TEXT]...\n"
            "                      Korean text: written to spoken, spoken numbers written,\n"
            "                      standard pronunciation, personal data masked, abusive\n"
            "                      speech (lines of standard input without TEXT)\n"
            "  say --voice VOICE.gguf [-o OUT] [TEXT]...\n"
            "                      text to speech with a VITS voice\n"
            "  version             print the version, the backends and the GPUs\n"
            "\n"
            "options:\n"
            "  --version, -V       same as 'sori version'\n"
            "  --help, -h          this text\n");
}

static int cmd_version(void)
{
    printf("sori %s\n", sori_version_string());
    char why[512] = "";
    int cuda = sori_cuda_available(why, sizeof why);
    printf("backends: cpu%s\n", cuda ? " cuda" : "");
    if (!cuda) {
        printf("gpus: none (%s)\n", why);
        return 0;
    }
    sori_gpu_info gpus[16];
    int n = 0;
    if (sori_cuda_devices(gpus, 16, &n) != SORI_OK || n == 0) {
        printf("gpus: none visible\n");
        return 0;
    }
    for (int i = 0; i < n && i < 16; i++)
        printf("gpu %d: %s (sm_%d%d, %.1f GiB)\n", gpus[i].index, gpus[i].name, gpus[i].cc_major,
               gpus[i].cc_minor, (double)gpus[i].total_bytes / (1024.0 * 1024 * 1024));
    return 0;
}

double app_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int parse_int_arg(const char *s, int lo, int hi, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!s[0] || *end || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

static int cmd_check(int argc, char **argv)
{
    sori_runtime_params p = sori_runtime_default_params();
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            if (sori_device_parse(argv[++i], &p.device, &p.device_index) != SORI_OK) {
                fprintf(stderr, "sori check: bad --device '%s' (cpu, cuda, cuda:N or auto)\n",
                        argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (!parse_int_arg(argv[++i], 1, 256, &p.n_threads)) {
                fprintf(stderr, "sori check: bad --threads '%s' (1..256)\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "sori check: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    p.pool_bytes = (size_t)16 << 20;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    sori_status st = sori_runtime_create(&p, &rt, &err);
    if (st != SORI_OK) {
        fprintf(stderr, "sori check: %s\n", err.message);
        return 1;
    }
    static char report[8192];
    st = sori_runtime_selfcheck(rt, report, sizeof report, &err);
    fputs(report, stdout);
    sori_runtime_free(rt);
    if (st != SORI_OK) {
        fprintf(stderr, "sori check: %s: %s\n", sori_status_str(st), err.message);
        return 1;
    }
    return 0;
}

/* A bundled data file: the source tree's data/ (a build tree), the installed data directory,
 * then share/sori beside the running program (an install moved to another prefix). */
const char *app_bundled(const char *name, char *path, size_t cap)
{
    const char *dirs[] = {SORI_SOURCE_DATA_DIR, SORI_INSTALL_DATA_DIR};
    for (int i = 0; i < 2; i++) {
        snprintf(path, cap, "%s/%s", dirs[i], name);
        if (access(path, R_OK) == 0)
            return path;
    }
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(path, cap, "%s/../share/sori/%s", exe, name);
            if (access(path, R_OK) == 0)
                return path;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0)
        return cmd_version();
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    if (strcmp(cmd, "features") == 0 || strcmp(cmd, "transcribe") == 0 || strcmp(cmd, "say") == 0) {
#ifdef SORI_HAVE_AUDIO_IO
        return cmd[0] == 'f'   ? cmd_features(argc - 2, argv + 2)
               : cmd[0] == 't' ? cmd_transcribe(argc - 2, argv + 2)
                               : cmd_say(argc - 2, argv + 2);
#else
        fprintf(stderr, "sori: this build has no audio front end (built with SORI_AUDIO_IO=OFF)\n");
        return 1;
#endif
    }
    if (strcmp(cmd, "lm") == 0)
        return cmd_lm(argc - 2, argv + 2);
    if (strcmp(cmd, "text") == 0)
        return cmd_text(argc - 2, argv + 2);
    if (strcmp(cmd, "mic") == 0) {
#ifdef SORI_HAVE_MIC
        return cmd_mic(argc - 2, argv + 2);
#else
        fprintf(stderr, "sori: this build has no microphone support (portaudio19-dev was missing)\n");
        return 1;
#endif
    }
    if (strcmp(cmd, "serve") == 0) {
#ifdef SORI_HAVE_SERVE
        return cmd_serve(argc - 2, argv + 2);
#else
        fprintf(stderr, "sori: this build has no server (libwebsockets-dev and libcjson-dev were missing)\n");
        return 1;
#endif
    }
    fprintf(stderr, "sori: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
