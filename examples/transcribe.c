/* The smallest sori program: transcribe one audio file with a model file, through the public
 * API alone (the headers in include/sori and libsori), built against an installed sori:
 *
 *     cc transcribe.c $(pkg-config --cflags --libs sori) -o transcribe
 *     ./transcribe "$(pkg-config --variable=datadir sori)/ko-fastconformer-ctc.gguf" call.wav
 *
 * or with CMake (examples/CMakeLists.txt: find_package(sori)). Prints the text, then each word
 * with its times. Exit status 1 with sori's message on stderr when anything fails. */
#include <stdio.h>

#include <sori/asr.h>
#include <sori/audio.h>
#include <sori/runtime.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.gguf AUDIO\n", argv[0]);
        return 2;
    }
    sori_error err = {0};
    sori_runtime *rt = NULL;
    sori_asr_model *m = NULL;
    sori_asr_result *r = NULL;
    sori_audio audio = {0}, mono = {0}, at_rate = {0};
    sori_runtime_params rp = sori_runtime_default_params();
    sori_asr_model_params mp = sori_asr_model_default_params();
    int rc = 1;
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_asr_model_load(rt, argv[1], &mp, &m, &err) != SORI_OK ||
        sori_audio_read_file(argv[2], &audio, &err) != SORI_OK ||
        sori_audio_select_channel(&audio, SORI_CHANNEL_MIX, &mono, &err) != SORI_OK)
        goto done;
    const sori_asr_model_info info = sori_asr_model_get_info(m);
    if (sori_audio_resample(&mono, info.sample_rate_hz, &at_rate, &err) != SORI_OK ||
        sori_asr_transcribe(m, at_rate.samples, at_rate.n_frames, at_rate.sample_rate_hz, &r, &err) != SORI_OK)
        goto done;
    printf("%s\n", r->text);
    for (int i = 0; i < r->n_words; i++)
        printf("%.2f\t%.2f\t%s\n", r->words[i].start_s, r->words[i].end_s, r->words[i].text);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "%s: %s\n", argv[0], err.message);
    sori_asr_result_free(r);
    sori_audio_free(&at_rate);
    sori_audio_free(&mono);
    sori_audio_free(&audio);
    sori_asr_model_free(m);
    sori_runtime_free(rt);
    return rc;
}
