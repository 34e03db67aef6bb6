/*
 * engine_driver: the C baseline for bench/engine.py.
 *
 * Runs the same back-to-back fax transfers as openfax.engine.run_pair, with the same spandsp
 * calls in the same order, so that the Python sessions can be compared with plain C:
 *
 *   audio: fax_init for a caller (sending a TIFF) and an answerer (receiving one), transmit
 *          on idle, then per 20 ms block fax_tx on both ends and fax_rx of what the other
 *          end sent, until both ends have reached phase E.
 *   t38:   t38_terminal_init for both ends, unpaced (T38_TERMINAL_OPTION_NO_PACING), then
 *          per block t38_terminal_send_timeout(160) on both ends and every IFP packet either
 *          end produced delivered once through t38_core_rx_ifp_packet.
 *
 * Like the Python sessions, each end logs warnings (SPAN_LOG_WARNING | SPAN_LOG_SHOW_PROTOCOL)
 * through a message handler, copies every T.30 frame in a real-time frame handler, reads the
 * transfer statistics in phase D (receiving end) and phase E, and is freed right after the
 * C call during which phase E ran.
 *
 * CPU time is CLOCK_PROCESS_CPUTIME_ID around each whole transfer (init, run, free), summed
 * and the least; line time is the blocks run. Prints one JSON object on stdout.
 *
 * Usage: engine_driver --transport audio|t38 --send FILE.tif --receive FILE.tif
 *                      [--modems N] [--ecm 0|1] [--compressions N] [--resolutions N]
 *                      [--pages N] [--repeat N] [--warmup N] [--max-seconds S]
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(OPENFAX_OWN_DECLS)
#include "spandsp_min.h"
#else
#include <spandsp.h>
#endif

#define SAMPLE_RATE 8000
#define BLOCK_SAMPLES 160
#define MAX_FRAME 512
#define FCF_CFR 0x84

enum transport
{
    TRANSPORT_AUDIO,
    TRANSPORT_T38
};

struct packet
{
    size_t offset;
    int len;
    uint16_t seq_no;
};

/* The IFP packets one end produced since they were last taken: bytes in one arena. */
struct packet_queue
{
    uint8_t *bytes;
    size_t used;
    size_t capacity;
    struct packet *packets;
    size_t count;
    size_t slots;
};

struct end
{
    const char *name;
    int receiving;
    void *handle; /* fax_state_t * or t38_terminal_state_t *; NULL once freed */
    t30_state_t *t30;
    t38_core_state_t *core;
    int phase_e;
    int completion_code;
    t30_stats_t final_stats;
    int pages_received;
    uint8_t frame[MAX_FRAME];
    int frame_len;
    long frames;
    uint16_t tx_seq_no;
    struct packet_queue queues[2];
    int filling; /* which of queues[] the packet handler appends to */
};

struct options
{
    enum transport transport;
    const char *send_file;
    const char *receive_file;
    int modems;
    int ecm;
    int compressions;
    int resolutions;
    int pages;
    int repeat;
    int warmup;
    double max_seconds;
};

static long log_messages;
static char last_log_message[256];

static void die(const char *what)
{
    fprintf(stderr, "engine_driver: %s\n", what);
    exit(2);
}

static double cpu_seconds(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        die("clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void *grow(void *p, size_t size)
{
    void *q = realloc(p, size);

    if (q == NULL)
        die("out of memory");
    return q;
}

/* --- callbacks from spandsp ------------------------------------------------------------ */

static void on_log(int level, const char *text)
{
    (void) level;
    log_messages++;
    snprintf(last_log_message, sizeof(last_log_message), "%s", text);
}

static void on_frame(t30_state_t *t30, void *user_data, int direction, const uint8_t msg[],
                     int len)
{
    struct end *e = user_data;

    (void) direction;
    e->frame_len = len < MAX_FRAME ? len : MAX_FRAME;
    memcpy(e->frame, msg, (size_t) e->frame_len);
    e->frames++;
    if (len >= 3 && (msg[2] & 0xFE) == FCF_CFR)
        (void) t30_get_rx_ident(t30);
}

static int on_phase_d(t30_state_t *t30, void *user_data, int result)
{
    struct end *e = user_data;
    t30_stats_t stats;

    (void) result;
    if (e->receiving)
    {
        t30_get_transfer_statistics(t30, &stats);
        if (stats.pages_rx > e->pages_received)
            e->pages_received = stats.pages_rx;
    }
    return 0;
}

static void on_phase_e(t30_state_t *t30, void *user_data, int completion_code)
{
    struct end *e = user_data;

    e->phase_e = 1;
    e->completion_code = completion_code;
    t30_get_transfer_statistics(t30, &e->final_stats);
}

static int on_packet(t38_core_state_t *core, void *user_data, const uint8_t *buf, int len,
                     int count)
{
    struct end *e = user_data;
    struct packet_queue *q = &e->queues[e->filling];

    (void) core;
    (void) count;
    if (q->used + (size_t) len > q->capacity)
    {
        q->capacity = 2 * (q->used + (size_t) len) + 1024;
        q->bytes = grow(q->bytes, q->capacity);
    }
    if (q->count == q->slots)
    {
        q->slots = 2 * q->slots + 64;
        q->packets = grow(q->packets, q->slots * sizeof(*q->packets));
    }
    memcpy(q->bytes + q->used, buf, (size_t) len);
    q->packets[q->count].offset = q->used;
    q->packets[q->count].len = len;
    q->packets[q->count].seq_no = e->tx_seq_no++;
    q->used += (size_t) len;
    q->count++;
    return 0;
}

/* --- set-up and tear-down -------------------------------------------------------------- */

static void route_log(logging_state_t *logging)
{
    span_log_set_level(logging, SPAN_LOG_WARNING | SPAN_LOG_SHOW_PROTOCOL);
    span_log_set_message_handler(logging, on_log);
}

static void setup_t30(struct end *e, const struct options *o)
{
    t30_state_t *t30 = e->t30;

    t30_set_ecm_capability(t30, o->ecm);
    t30_set_supported_modems(t30, o->modems);
    t30_set_supported_compressions(t30, o->compressions);
    t30_set_supported_resolutions(t30, o->resolutions);
    if (e->receiving)
        t30_set_rx_file(t30, o->receive_file, -1);
    else
        t30_set_tx_file(t30, o->send_file, -1, -1);
    t30_set_phase_d_handler(t30, on_phase_d, e);
    t30_set_phase_e_handler(t30, on_phase_e, e);
    t30_set_real_time_frame_handler(t30, on_frame, e);
    route_log(t30_get_logging_state(t30));
}

static void init_end(struct end *e, const struct options *o, int calling)
{
    struct packet_queue keep[2];

    memcpy(keep, e->queues, sizeof(keep));
    memset(e, 0, sizeof(*e));
    memcpy(e->queues, keep, sizeof(keep));
    e->queues[0].count = e->queues[0].used = 0;
    e->queues[1].count = e->queues[1].used = 0;
    e->name = calling ? "call" : "answer";
    e->receiving = !calling;
    if (o->transport == TRANSPORT_AUDIO)
    {
        fax_state_t *fax = fax_init(NULL, calling);

        if (fax == NULL)
            die("fax_init failed");
        e->handle = fax;
        fax_set_transmit_on_idle(fax, 1);
        route_log(fax_get_logging_state(fax));
        e->t30 = fax_get_t30_state(fax);
    }
    else
    {
        t38_terminal_state_t *t38 = t38_terminal_init(NULL, calling, on_packet, e);

        if (t38 == NULL)
            die("t38_terminal_init failed");
        e->handle = t38;
        t38_terminal_set_config(t38, T38_TERMINAL_OPTION_NO_PACING);
        e->core = t38_terminal_get_t38_core_state(t38);
        t38_set_t38_version(e->core, 0);
        route_log(t38_terminal_get_logging_state(t38));
        route_log(t38_core_get_logging_state(e->core));
        e->t30 = t38_terminal_get_t30_state(t38);
    }
    setup_t30(e, o);
}

static void free_end(struct end *e, enum transport transport)
{
    if (e->handle == NULL)
        return;
    if (transport == TRANSPORT_AUDIO)
        fax_free(e->handle);
    else
        t38_terminal_free(e->handle);
    e->handle = NULL;
    e->t30 = NULL;
    e->core = NULL;
}

/* Free the end once phase E has run, between C calls, which also completes the rx TIFF. */
static void after_c_call(struct end *e, enum transport transport)
{
    if (e->phase_e)
        free_end(e, transport);
}

/* --- one block on the line ------------------------------------------------------------- */

static void audio_tx(struct end *e, int16_t *out)
{
    int produced;

    if (e->handle == NULL)
    {
        memset(out, 0, BLOCK_SAMPLES * sizeof(*out));
        return;
    }
    produced = fax_tx(e->handle, out, BLOCK_SAMPLES);
    if (produced < BLOCK_SAMPLES)
        memset(out + produced, 0, (size_t) (BLOCK_SAMPLES - produced) * sizeof(*out));
    after_c_call(e, TRANSPORT_AUDIO);
}

static void audio_rx(struct end *e, int16_t *in)
{
    if (e->handle == NULL)
        return;
    fax_rx(e->handle, in, BLOCK_SAMPLES);
    after_c_call(e, TRANSPORT_AUDIO);
}

static void t38_advance(struct end *e)
{
    if (e->handle == NULL)
        return;
    t38_terminal_send_timeout(e->handle, BLOCK_SAMPLES);
    after_c_call(e, TRANSPORT_T38);
}

/* The packets produced so far; the packet handler fills the other queue from now on. */
static struct packet_queue *take_packets(struct end *e)
{
    struct packet_queue *taken = &e->queues[e->filling];

    e->filling ^= 1;
    e->queues[e->filling].count = 0;
    e->queues[e->filling].used = 0;
    return taken;
}

static void deliver(struct end *to, const struct packet_queue *q)
{
    for (size_t i = 0; i < q->count; i++)
    {
        if (to->handle == NULL)
            return;
        t38_core_rx_ifp_packet(to->core, q->bytes + q->packets[i].offset, q->packets[i].len,
                               q->packets[i].seq_no);
        after_c_call(to, TRANSPORT_T38);
    }
}

/* --- one transfer ---------------------------------------------------------------------- */

struct transfer
{
    double line_seconds;
    double cpu_seconds;
    int finished;
    int ok;
    int caller_code;
    int answerer_code;
    int pages_sent;
    int pages_received;
    int bit_rate;
    int ecm;
};

static struct transfer run_transfer(struct end *a, struct end *b, const struct options *o)
{
    struct transfer t;
    int16_t a_out[BLOCK_SAMPLES];
    int16_t b_out[BLOCK_SAMPLES];
    long max_blocks = (long) (o->max_seconds * SAMPLE_RATE / BLOCK_SAMPLES);
    long blocks = 0;
    double start = cpu_seconds();

    init_end(a, o, 1);
    init_end(b, o, 0);
    while (!(a->phase_e && b->phase_e && a->handle == NULL && b->handle == NULL)
           && blocks < max_blocks)
    {
        if (o->transport == TRANSPORT_AUDIO)
        {
            audio_tx(a, a_out);
            audio_tx(b, b_out);
            audio_rx(a, b_out);
            audio_rx(b, a_out);
        }
        else
        {
            struct packet_queue *a_packets;
            struct packet_queue *b_packets;

            t38_advance(a);
            t38_advance(b);
            a_packets = take_packets(a);
            b_packets = take_packets(b);
            deliver(b, a_packets);
            deliver(a, b_packets);
        }
        blocks++;
    }
    t.finished = a->phase_e && b->phase_e;
    free_end(a, o->transport);
    free_end(b, o->transport);
    t.cpu_seconds = cpu_seconds() - start;
    t.line_seconds = (double) blocks * BLOCK_SAMPLES / SAMPLE_RATE;
    t.caller_code = a->phase_e ? a->completion_code : -1;
    t.answerer_code = b->phase_e ? b->completion_code : -1;
    t.pages_sent = a->phase_e ? a->final_stats.pages_tx : 0;
    t.pages_received = b->pages_received;
    t.bit_rate = a->phase_e ? a->final_stats.bit_rate : 0;
    t.ecm = a->phase_e ? a->final_stats.error_correcting_mode : 0;
    t.ok = t.finished && t.caller_code == T30_ERR_OK && t.answerer_code == T30_ERR_OK
           && t.pages_sent == o->pages && t.pages_received == o->pages;
    return t;
}

/* --- command line and report ----------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: engine_driver --transport audio|t38 --send FILE --receive FILE [--modems N]\n"
            "                     [--ecm 0|1] [--compressions N] [--resolutions N] [--pages N]\n"
            "                     [--repeat N] [--warmup N] [--max-seconds S]\n");
    exit(2);
}

static struct options parse(int argc, char **argv)
{
    struct options o = {
        .transport = TRANSPORT_AUDIO,
        .modems = 0x07,       /* V.27ter | V.29 | V.17 */
        .ecm = 1,
        .compressions = 0x0E, /* MH | MR | MMR */
        .resolutions = 0x07,  /* standard | fine | superfine */
        .pages = 1,
        .repeat = 1,
        .warmup = 1,
        .max_seconds = 30 * 60.0,
    };

    for (int i = 1; i < argc; i += 2)
    {
        const char *key = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;

        if (value == NULL)
            usage();
        if (strcmp(key, "--transport") == 0)
        {
            if (strcmp(value, "audio") == 0)
                o.transport = TRANSPORT_AUDIO;
            else if (strcmp(value, "t38") == 0)
                o.transport = TRANSPORT_T38;
            else
                usage();
        }
        else if (strcmp(key, "--send") == 0)
            o.send_file = value;
        else if (strcmp(key, "--receive") == 0)
            o.receive_file = value;
        else if (strcmp(key, "--modems") == 0)
            o.modems = (int) strtol(value, NULL, 0);
        else if (strcmp(key, "--ecm") == 0)
            o.ecm = (int) strtol(value, NULL, 0);
        else if (strcmp(key, "--compressions") == 0)
            o.compressions = (int) strtol(value, NULL, 0);
        else if (strcmp(key, "--resolutions") == 0)
            o.resolutions = (int) strtol(value, NULL, 0);
        else if (strcmp(key, "--pages") == 0)
            o.pages = (int) strtol(value, NULL, 0);
        else if (strcmp(key, "--repeat") == 0)
            o.repeat = (int) strtol(value, NULL, 0);
        else if (strcmp(key, "--warmup") == 0)
            o.warmup = (int) strtol(value, NULL, 0);
        else if (strcmp(key, "--max-seconds") == 0)
            o.max_seconds = strtod(value, NULL);
        else
            usage();
    }
    if (o.send_file == NULL || o.receive_file == NULL || o.repeat < 1 || o.warmup < 0)
        usage();
    return o;
}

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++)
    {
        unsigned char c = (unsigned char) *s;

        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    struct options o = parse(argc, argv);
    struct end a;
    struct end b;
    struct transfer first_failure = {0};
    int failures = 0;
    double line_total = 0.0;
    double cpu_total = 0.0;
    double line_min = 0.0;
    double line_max = 0.0;
    double cpu_min = 0.0;
    struct transfer last = {0};

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    for (int i = 0; i < o.warmup; i++)
        (void) run_transfer(&a, &b, &o);
    for (int i = 0; i < o.repeat; i++)
    {
        struct transfer t = run_transfer(&a, &b, &o);

        last = t;

        if (!t.ok && failures++ == 0)
            first_failure = t;
        line_total += t.line_seconds;
        cpu_total += t.cpu_seconds;
        if (i == 0 || t.line_seconds < line_min)
            line_min = t.line_seconds;
        if (i == 0 || t.line_seconds > line_max)
            line_max = t.line_seconds;
        if (i == 0 || t.cpu_seconds < cpu_min)
            cpu_min = t.cpu_seconds;
    }
    printf("{\"transport\": \"%s\", \"repeat\": %d, \"ok\": %s, \"failures\": %d, ",
           o.transport == TRANSPORT_AUDIO ? "audio" : "t38", o.repeat,
           failures == 0 ? "true" : "false", failures);
    printf("\"line_seconds\": %.6f, \"cpu_seconds\": %.9f, ", line_total, cpu_total);
    printf("\"cpu_seconds_min\": %.9f, ", cpu_min);
    printf("\"line_seconds_min\": %.6f, \"line_seconds_max\": %.6f, ", line_min, line_max);
    printf("\"bit_rate\": %d, \"ecm\": %s, ", last.bit_rate, last.ecm ? "true" : "false");
    printf("\"log_messages\": %ld, \"last_log_message\": ", log_messages);
    print_json_string(last_log_message);
    if (failures > 0)
    {
        printf(", \"first_failure\": {\"finished\": %s, \"caller_code\": %d, "
               "\"answerer_code\": %d, \"pages_sent\": %d, \"pages_received\": %d}",
               first_failure.finished ? "true" : "false", first_failure.caller_code,
               first_failure.answerer_code, first_failure.pages_sent,
               first_failure.pages_received);
    }
    printf("}\n");
    for (int i = 0; i < 2; i++)
    {
        free(a.queues[i].bytes);
        free(a.queues[i].packets);
        free(b.queues[i].bytes);
        free(b.queues[i].packets);
    }
    return failures == 0 ? 0 : 1;
}
