/* frugal's sensor protocol, microcontroller side (docs/power.md specifies it; the host
 * parser is src/frugal/measure/serial_protocol.cpp). Plain C99 shared by the AVR and
 * STM32 builds: frame encoding, ASCII debug lines and the host command parser. No
 * hardware access here; the boards supply the byte output and the clock. */
#ifndef FRUGAL_PROTO_H
#define FRUGAL_PROTO_H

#include <stdint.h>

#define FP_FRAME_BYTES 18
#define FP_SYNC0 0xA5
#define FP_SYNC1 0x5A
#define FP_TYPE_SAMPLE 0x01
#define FP_TYPE_MARKER 0x02 /* byte 3: marker id; t_us: when its command arrived */
#define FP_TYPE_BOOT 0x03   /* byte 3: board id; t_us: clock at boot (a reset happened) */

#define FP_BOARD_AVR_UNO 1
#define FP_BOARD_STM32F4 2

/* Output sink supplied by the board: queues one byte for the host. */
typedef void (*fp_put_fn)(uint8_t byte);

uint16_t fp_crc16(const uint8_t* bytes, uint8_t n); /* CRC-16/CCITT-FALSE */

/* Binary frames. */
void fp_send_sample(fp_put_fn put, uint8_t ch, uint32_t t_us, float volts, float amps);
void fp_send_event(fp_put_fn put, uint8_t type, uint8_t id, uint32_t t_us);

/* ASCII forms: "t_us,ch,volts,amps\n" (3 decimals, no printf-float needed),
 * "t_us,M,id\n" (marker) and "t_us,B,board\n" (boot). */
void fp_send_sample_line(fp_put_fn put, uint8_t ch, uint32_t t_us, float volts, float amps);
void fp_send_event_line(fp_put_fn put, char kind, uint8_t id, uint32_t t_us);
void fp_send_text(fp_put_fn put, const char* text);
void fp_send_uint(fp_put_fn put, uint32_t v);

/* Host commands, one per line ('\n' or '\r' ends a line):
 *   M<c>      marker with id c (any byte; 'M' alone gives id 0), stamped at the first byte
 *   R<hz>     sampling rate in Hz
 *   C<mask>   enabled channels, a decimal bit mask
 *   A | B     ASCII | binary output
 *   S | X     start | stop streaming
 *   ?         a '#' info line
 * The board's receive interrupt feeds bytes with the clock at arrival; the main loop
 * polls fp_cmd_take for complete commands. */
#define FP_CMD_MAX 16
#define FP_CMD_QUEUE 4 /* complete lines waiting for the main loop */
typedef struct {
  char line[FP_CMD_MAX];
  uint8_t len;
  uint8_t overflow;
  uint32_t t_first_us; /* clock when the line's first byte arrived */
  char done_line[FP_CMD_QUEUE][FP_CMD_MAX];
  uint32_t done_t_us[FP_CMD_QUEUE];
  volatile uint8_t head, tail; /* ring of complete lines; a full ring drops new ones */
  uint16_t dropped;
} fp_cmd_t;

void fp_cmd_feed(fp_cmd_t* cmd, uint8_t byte, uint32_t t_us); /* from the RX interrupt */

typedef struct {
  char op;        /* 'M', 'R', 'C', 'A', 'B', 'S', 'X', '?', or 0 for a bad line */
  uint32_t value; /* R, C: the number; M: the marker id */
  uint32_t t_us;
} fp_command_t;
/* Returns 1 and fills `out` when a complete command is waiting (call with interrupts
 * masked or from the same priority as fp_cmd_feed). */
uint8_t fp_cmd_take(fp_cmd_t* cmd, fp_command_t* out);

#endif
