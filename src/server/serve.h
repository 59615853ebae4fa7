/* `midwife serve`: the one event loop that owns all state. */
#ifndef MIDWIFE_SERVER_SERVE_H
#define MIDWIFE_SERVER_SERVE_H

int serve_main(int argc, char **argv);
/* `midwife check -c FILE`: validate a config and exit. */
int check_main(int argc, char **argv);

#endif
