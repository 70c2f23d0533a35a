/* The sori command's subcommands (apps/cmd_*.c) and shared helpers. */
#ifndef SORI_APPS_COMMANDS_H
#define SORI_APPS_COMMANDS_H

/* Parses a whole decimal integer in [lo, hi]; 1 on success. */
int parse_int_arg(const char *s, int lo, int hi, int *out);

int cmd_features(int argc, char **argv);
int cmd_transcribe(int argc, char **argv);

#endif
