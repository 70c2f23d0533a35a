/* The sori command's subcommands (apps/cmd_*.c) and shared helpers. */
#ifndef SORI_APPS_COMMANDS_H
#define SORI_APPS_COMMANDS_H

#include <stddef.h>

/* Parses a whole decimal integer in [lo, hi]; 1 on success. */
int parse_int_arg(const char *s, int lo, int hi, int *out);

/* Seconds of the monotonic clock. */
double app_now_s(void);

/* A bundled data file (data/ of the source tree, the installed data
 * directory, then share/sori beside the program) into path, or NULL. */
const char *app_bundled(const char *name, char *path, size_t cap);

/* Pa_Initialize with PortAudio's ALSA/JACK probing noise on stderr hidden (a PaError). */
int app_pa_initialize(void);
/* Plays audio on the default output device (PortAudio; only where sori was built with it):
 * 0, or 1 with the reason on stderr. */
struct sori_audio;
int app_play(const struct sori_audio *a);

int cmd_features(int argc, char **argv);
int cmd_lm(int argc, char **argv);
int cmd_text(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_mic(int argc, char **argv);
int cmd_transcribe(int argc, char **argv);
int cmd_say(int argc, char **argv);

#endif
