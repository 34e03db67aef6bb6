"""The binding to libspandsp 0.0.6: C declarations, the loaded library, and nothing else.

cffi in ABI mode (``ffi.dlopen``), so no compiler is needed at install time. Only the
functions OpenFax calls are declared; structs stay opaque except ``t30_stats_t``, which is
copied out by value. Sessions above this module own every C object and callback.
"""

from __future__ import annotations

from typing import Any

from cffi import FFI

from openfax.errors import SpandspUnavailableError
from openfax.native_library import open_library

CDEF = """
typedef struct logging_state_s logging_state_t;
typedef void (*message_handler_func_t)(int level, const char *text);
int span_log_set_level(logging_state_t *s, int level);
void span_log_set_message_handler(logging_state_t *s, message_handler_func_t func);

typedef struct t30_state_s t30_state_t;
typedef struct t38_core_state_s t38_core_state_t;
typedef struct fax_state_s fax_state_t;
typedef struct t38_terminal_state_s t38_terminal_state_t;
typedef struct t31_state_s t31_state_t;
typedef struct at_state_s at_state_t;

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

typedef int (t30_phase_b_handler_t)(t30_state_t *s, void *user_data, int result);
typedef int (t30_phase_d_handler_t)(t30_state_t *s, void *user_data, int result);
typedef void (t30_phase_e_handler_t)(t30_state_t *s, void *user_data, int completion_code);
typedef void (t30_real_time_frame_handler_t)(t30_state_t *s, void *user_data, int direction,
                                             const uint8_t msg[], int len);
typedef int (t38_tx_packet_handler_t)(t38_core_state_t *s, void *user_data,
                                      const uint8_t *buf, int len, int count);
typedef void (t30_set_handler_t)(void *user_data, int type, int bit_rate, int short_train,
                                 int use_hdlc);
typedef void (t30_send_hdlc_handler_t)(void *user_data, const uint8_t msg[], int len);
typedef int (at_tx_handler_t)(at_state_t *s, void *user_data, const uint8_t *buf, size_t len);
typedef int (t31_modem_control_handler_t)(t31_state_t *s, void *user_data, int op,
                                          const char *num);

int t30_set_tx_ident(t30_state_t *s, const char *id);
const char *t30_get_rx_ident(t30_state_t *s);
int t30_set_tx_page_header_info(t30_state_t *s, const char *info);
void t30_set_rx_file(t30_state_t *s, const char *file, int stop_page);
void t30_set_tx_file(t30_state_t *s, const char *file, int start_page, int stop_page);
int t30_set_ecm_capability(t30_state_t *s, int enabled);
int t30_set_supported_modems(t30_state_t *s, int supported_modems);
int t30_set_supported_compressions(t30_state_t *s, int supported_compressions);
int t30_set_supported_resolutions(t30_state_t *s, int supported_resolutions);
int t30_set_supported_image_sizes(t30_state_t *s, int supported_image_sizes);
void t30_set_phase_b_handler(t30_state_t *s, t30_phase_b_handler_t *handler, void *user_data);
void t30_set_phase_d_handler(t30_state_t *s, t30_phase_d_handler_t *handler, void *user_data);
void t30_set_phase_e_handler(t30_state_t *s, t30_phase_e_handler_t *handler, void *user_data);
void t30_set_real_time_frame_handler(t30_state_t *s, t30_real_time_frame_handler_t *handler,
                                     void *user_data);
logging_state_t *t30_get_logging_state(t30_state_t *s);
int t30_call_active(t30_state_t *s);
void t30_terminate(t30_state_t *s);
void t30_get_transfer_statistics(t30_state_t *s, t30_stats_t *t);
const char *t30_completion_code_to_str(int result);
t30_state_t *t30_init(t30_state_t *s, int calling_party,
                      t30_set_handler_t *set_rx_type_handler, void *set_rx_type_user_data,
                      t30_set_handler_t *set_tx_type_handler, void *set_tx_type_user_data,
                      t30_send_hdlc_handler_t *send_hdlc_handler, void *send_hdlc_user_data);
int t30_free(t30_state_t *s);
void t30_front_end_status(void *user_data, int status);
int t30_non_ecm_get_chunk(void *user_data, uint8_t buf[], int max_len);
void t30_non_ecm_put_bit(void *user_data, int bit);
void t30_non_ecm_put_chunk(void *user_data, const uint8_t buf[], int len);
void t30_hdlc_accept(void *user_data, const uint8_t msg[], int len, int ok);
void t30_timer_update(t30_state_t *s, int samples);

typedef struct hdlc_rx_state_s hdlc_rx_state_t;
typedef struct hdlc_tx_state_s hdlc_tx_state_t;
typedef void (*hdlc_frame_handler_t)(void *user_data, const uint8_t *pkt, int len, int ok);
typedef void (*hdlc_underflow_handler_t)(void *user_data);
hdlc_rx_state_t *hdlc_rx_init(hdlc_rx_state_t *s, int crc32, int report_bad_frames,
                              int framing_ok_threshold, hdlc_frame_handler_t handler,
                              void *user_data);
int hdlc_rx_free(hdlc_rx_state_t *s);
void hdlc_rx_put(hdlc_rx_state_t *s, const uint8_t buf[], int len);
hdlc_tx_state_t *hdlc_tx_init(hdlc_tx_state_t *s, int crc32, int inter_frame_flags,
                              int progressive, hdlc_underflow_handler_t handler, void *user_data);
int hdlc_tx_free(hdlc_tx_state_t *s);
int hdlc_tx_frame(hdlc_tx_state_t *s, const uint8_t *frame, size_t len);
int hdlc_tx_flags(hdlc_tx_state_t *s, int len);
int hdlc_tx_get(hdlc_tx_state_t *s, uint8_t buf[], size_t max_len);

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

t31_state_t *t31_init(t31_state_t *s,
                      at_tx_handler_t *at_tx_handler, void *at_tx_user_data,
                      t31_modem_control_handler_t *modem_control_handler,
                      void *modem_control_user_data,
                      t38_tx_packet_handler_t *tx_t38_packet_handler,
                      void *tx_t38_packet_user_data);
int t31_free(t31_state_t *s);
void t31_call_event(t31_state_t *s, int event);
int t31_at_rx(t31_state_t *s, const char *t, int len);
int t31_rx(t31_state_t *s, int16_t amp[], int len);
int t31_tx(t31_state_t *s, int16_t amp[], int max_len);
void t31_set_transmit_on_idle(t31_state_t *s, int transmit_on_idle);
logging_state_t *t31_get_logging_state(t31_state_t *s);
void at_reset_call_info(at_state_t *s);
void at_set_call_info(at_state_t *s, char const *id, char const *value);
"""

# spandsp enum values used by the sessions (from spandsp/t30.h, logging.h, t38_terminal.h,
# at_interpreter.h of 0.0.6).
SPAN_LOG_PROTOCOL_ERROR = 3
SPAN_LOG_FLOW = 5
SPAN_LOG_SHOW_PROTOCOL = 0x0800

T38_TERMINAL_OPTION_NO_PACING = 0x01

# t30.h: the modems T.30 asks its front end for, and what the front end reports back.
T30_MODEM_NONE = 0
T30_MODEM_PAUSE = 1
T30_MODEM_CED = 2
T30_MODEM_CNG = 3
T30_MODEM_V21 = 4
T30_MODEM_V27TER = 5
T30_MODEM_V29 = 6
T30_MODEM_V17 = 7
T30_MODEM_DONE = 9
T30_FRONT_END_SEND_STEP_COMPLETE = 0
T30_FRONT_END_RECEIVE_COMPLETE = 1

# async.h: signal status codes passed in place of a bit or a frame length.
SIG_STATUS_CARRIER_DOWN = -1
SIG_STATUS_CARRIER_UP = -2
SIG_STATUS_TRAINING_SUCCEEDED = -4
SIG_STATUS_FRAMING_OK = -6

LIBRARY_ENV = "OPENFAX_SPANDSP_LIBRARY"
DEBIAN_PACKAGE = "libspandsp2"

ffi: Any = FFI()
ffi.cdef(CDEF)


lib: Any = open_library(
    ffi.dlopen,
    soname="libspandsp.so.2",
    short_name="spandsp",
    env=LIBRARY_ENV,
    debian_package=DEBIAN_PACKAGE,
    error=SpandspUnavailableError,
)

for _name in (
    "fax_free",
    "t38_terminal_free",
    "t31_free",
    "t30_free",
    "hdlc_tx_free",
    "hdlc_rx_free",
):
    # What __del__ methods call is looked up now. cffi looks a function up under its lock
    # the first time; a garbage collection while that lock is held (in ffi.callback, say)
    # running a __del__ that looked one up would wait for the lock forever.
    getattr(lib, _name)
del _name
