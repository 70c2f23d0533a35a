/* PortAudio for the commands: its start without its probing noise (sori mic, sori say --play),
 * and playing audio on the default output device (sori say --play). */
#include <fcntl.h>
#include <portaudio.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "commands.h"
#include "sori/audio.h"

int app_pa_initialize(void)
{
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    if (null >= 0)
        dup2(null, 2);
    PaError e = Pa_Initialize();
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    if (null >= 0)
        close(null);
    return e;
}

int app_play(const sori_audio *a)
{
    PaError e = app_pa_initialize();
    if (e != paNoError) {
        fprintf(stderr, "sori say --play: %s\n", Pa_GetErrorText(e));
        return 1;
    }
    const PaDeviceIndex dev = Pa_GetDefaultOutputDevice();
    if (dev == paNoDevice) {
        fprintf(stderr, "sori say --play: no audio output device (write a file with -o instead)\n");
        Pa_Terminate();
        return 1;
    }
    PaStreamParameters out = {dev, a->n_channels, paFloat32, Pa_GetDeviceInfo(dev)->defaultHighOutputLatency, NULL};
    PaStream *ps = NULL;
    e = Pa_OpenStream(&ps, NULL, &out, a->sample_rate_hz, 1024, paNoFlag, NULL, NULL);
    if (e == paNoError)
        e = Pa_StartStream(ps);
    for (int64_t at = 0; e == paNoError && at < a->n_frames; at += 1024) {
        const int64_t n = a->n_frames - at < 1024 ? a->n_frames - at : 1024;
        e = Pa_WriteStream(ps, a->samples + at * a->n_channels, (unsigned long)n);
    }
    if (ps) {
        if (e == paNoError)
            Pa_StopStream(ps);
        Pa_CloseStream(ps);
    }
    Pa_Terminate();
    if (e != paNoError) {
        fprintf(stderr, "sori say --play: %s\n", Pa_GetErrorText(e));
        return 1;
    }
    return 0;
}
