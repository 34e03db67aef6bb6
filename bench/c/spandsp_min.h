/*
 * The few spandsp 0.0.6 declarations engine_driver.c uses, for machines that have the
 * library (libspandsp2) but not its headers (libspandsp-dev). They mirror the cffi
 * declarations in src/openfax/engine/_spandsp.py and the values in spandsp's own headers.
 * bench/engine.py compiles with <spandsp.h> when it can, and with this file otherwise.
 */
#ifndef OPENFAX_SPANDSP_MIN_H
#define OPENFAX_SPANDSP_MIN_H

#include <stdint.h>

typedef struct logging_state_s logging_state_t;
typedef void (*message_handler_func_t)(int level, const char *text);
int span_log_set_level(logging_state_t *s, int level);
void span_log_set_message_handler(logging_state_t *s, message_handler_func_t func);

typedef struct t30_state_s t30_state_t;
typedef struct t38_core_state_s t38_core_state_t;
typedef struct fax_state_s fax_state_t;
typedef struct t38_terminal_state_s t38_terminal_state_t;

typedef struct
{
    int bit_rate;
    int error_correcting_mode;
    int pages_tx;
    int pages_rx;
    int pages_in_file;
    int x_resolution;
    int y_resolution;
    int width;
    int length;
    int image_size;
    int encoding;
    int bad_rows;
    int longest_bad_row_run;
    int error_correcting_mode_retries;
    int current_status;
} t30_stats_t;

typedef int (t30_phase_d_handler_t)(t30_state_t *s, void *user_data, int result);
typedef void (t30_phase_e_handler_t)(t30_state_t *s, void *user_data, int completion_code);
typedef void (t30_real_time_frame_handler_t)(t30_state_t *s, void *user_data, int direction,
                                             const uint8_t msg[], int len);
typedef int (t38_tx_packet_handler_t)(t38_core_state_t *s, void *user_data,
                                      const uint8_t *buf, int len, int count);

const char *t30_get_rx_ident(t30_state_t *s);
void t30_set_rx_file(t30_state_t *s, const char *file, int stop_page);
void t30_set_tx_file(t30_state_t *s, const char *file, int start_page, int stop_page);
int t30_set_ecm_capability(t30_state_t *s, int enabled);
int t30_set_supported_modems(t30_state_t *s, int supported_modems);
int t30_set_supported_compressions(t30_state_t *s, int supported_compressions);
int t30_set_supported_resolutions(t30_state_t *s, int supported_resolutions);
void t30_set_phase_d_handler(t30_state_t *s, t30_phase_d_handler_t *handler, void *user_data);
void t30_set_phase_e_handler(t30_state_t *s, t30_phase_e_handler_t *handler, void *user_data);
void t30_set_real_time_frame_handler(t30_state_t *s, t30_real_time_frame_handler_t *handler,
                                     void *user_data);
logging_state_t *t30_get_logging_state(t30_state_t *s);
void t30_get_transfer_statistics(t30_state_t *s, t30_stats_t *t);

fax_state_t *fax_init(fax_state_t *s, int calling_party);
int fax_free(fax_state_t *s);
int fax_rx(fax_state_t *s, int16_t *amp, int len);
int fax_tx(fax_state_t *s, int16_t *amp, int max_len);
void fax_set_transmit_on_idle(fax_state_t *s, int transmit_on_idle);
t30_state_t *fax_get_t30_state(fax_state_t *s);
logging_state_t *fax_get_logging_state(fax_state_t *s);

t38_terminal_state_t *t38_terminal_init(t38_terminal_state_t *s, int calling_party,
                                        t38_tx_packet_handler_t *tx_packet_handler,
                                        void *tx_packet_user_data);
int t38_terminal_free(t38_terminal_state_t *s);
int t38_terminal_send_timeout(t38_terminal_state_t *s, int samples);
void t38_terminal_set_config(t38_terminal_state_t *s, int config);
t30_state_t *t38_terminal_get_t30_state(t38_terminal_state_t *s);
t38_core_state_t *t38_terminal_get_t38_core_state(t38_terminal_state_t *s);
logging_state_t *t38_terminal_get_logging_state(t38_terminal_state_t *s);
logging_state_t *t38_core_get_logging_state(t38_core_state_t *s);
int t38_core_rx_ifp_packet(t38_core_state_t *s, const uint8_t *buf, int len, uint16_t seq_no);
void t38_set_t38_version(t38_core_state_t *s, int t38_version);

enum
{
    SPAN_LOG_WARNING = 2,
    SPAN_LOG_SHOW_PROTOCOL = 0x0800
};

enum
{
    T30_ERR_OK = 0
};

enum
{
    T38_TERMINAL_OPTION_NO_PACING = 0x01
};

#endif
