#include "frugal_proto.h"

#include <string.h>

uint16_t fp_crc16(const uint8_t* bytes, uint8_t n) {
  uint16_t crc = 0xFFFF;
  for (uint8_t i = 0; i < n; ++i) {
    crc ^= (uint16_t)bytes[i] << 8;
    for (uint8_t b = 0; b < 8; ++b) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  }
  return crc;
}

static void put_u32(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* Both targets are little endian with IEEE-754 binary32 floats (avr-gcc's double is
 * 32-bit too), so the float's bytes go out as they are in memory. */
static void put_f32(uint8_t* p, float f) {
  uint32_t v;
  memcpy(&v, &f, 4);
  put_u32(p, v);
}

static void send_frame(fp_put_fn put, uint8_t* f) {
  f[0] = FP_SYNC0;
  f[1] = FP_SYNC1;
  const uint16_t crc = fp_crc16(f + 2, 14);
  f[16] = (uint8_t)crc;
  f[17] = (uint8_t)(crc >> 8);
  for (uint8_t i = 0; i < FP_FRAME_BYTES; ++i) put(f[i]);
}

void fp_send_sample(fp_put_fn put, uint8_t ch, uint32_t t_us, float volts, float amps) {
  uint8_t f[FP_FRAME_BYTES];
  f[2] = FP_TYPE_SAMPLE;
  f[3] = ch;
  put_u32(f + 4, t_us);
  put_f32(f + 8, volts);
  put_f32(f + 12, amps);
  send_frame(put, f);
}

void fp_send_event(fp_put_fn put, uint8_t type, uint8_t id, uint32_t t_us) {
  uint8_t f[FP_FRAME_BYTES];
  memset(f, 0, sizeof f);
  f[2] = type;
  f[3] = id;
  put_u32(f + 4, t_us);
  send_frame(put, f);
}

void fp_send_text(fp_put_fn put, const char* text) {
  while (*text) put((uint8_t)*text++);
}

void fp_send_uint(fp_put_fn put, uint32_t v) {
  char digits[10];
  uint8_t n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) put((uint8_t)digits[--n]);
}

/* Fixed point with 3 decimals: enough for the 10-bit ADC's resolution. */
static void send_milli(fp_put_fn put, float x) {
  if (x < 0) {
    put('-');
    x = -x;
  }
  const uint32_t m = (uint32_t)(x * 1000.0f + 0.5f);
  fp_send_uint(put, m / 1000);
  put('.');
  const uint32_t frac = m % 1000;
  put((uint8_t)('0' + frac / 100));
  put((uint8_t)('0' + frac / 10 % 10));
  put((uint8_t)('0' + frac % 10));
}

void fp_send_sample_line(fp_put_fn put, uint8_t ch, uint32_t t_us, float volts, float amps) {
  fp_send_uint(put, t_us);
  put(',');
  fp_send_uint(put, ch);
  put(',');
  send_milli(put, volts);
  put(',');
  send_milli(put, amps);
  put('\n');
}

void fp_send_event_line(fp_put_fn put, char kind, uint8_t id, uint32_t t_us) {
  fp_send_uint(put, t_us);
  put(',');
  put((uint8_t)kind);
  put(',');
  fp_send_uint(put, id);
  put('\n');
}

void fp_cmd_feed(fp_cmd_t* cmd, uint8_t byte, uint32_t t_us) {
  if (byte == '\n' || byte == '\r') {
    if (cmd->len == 0) return;
    const uint8_t next = (uint8_t)((cmd->head + 1) % FP_CMD_QUEUE);
    if (cmd->overflow || next == cmd->tail) {
      ++cmd->dropped;
    } else {
      memcpy(cmd->done_line[cmd->head], cmd->line, cmd->len);
      cmd->done_line[cmd->head][cmd->len] = 0;
      cmd->done_t_us[cmd->head] = cmd->t_first_us;
      cmd->head = next;
    }
    cmd->len = 0;
    cmd->overflow = 0;
    return;
  }
  if (cmd->len == 0) cmd->t_first_us = t_us;
  if (cmd->len + 1 >= FP_CMD_MAX) {
    cmd->overflow = 1;
    return;
  }
  cmd->line[cmd->len++] = (char)byte;
}

static uint8_t parse_uint(const char* s, uint32_t* v) {
  uint32_t x = 0;
  if (!*s) return 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || x > 429496728u) return 0;
    x = x * 10 + (uint32_t)(*s - '0');
  }
  *v = x;
  return 1;
}

uint8_t fp_cmd_take(fp_cmd_t* cmd, fp_command_t* out) {
  if (cmd->head == cmd->tail) return 0;
  const char* s = cmd->done_line[cmd->tail];
  out->op = s[0];
  out->value = 0;
  out->t_us = cmd->done_t_us[cmd->tail];
  switch (s[0]) {
    case 'M':
      out->value = (uint8_t)s[1];
      break;
    case 'R':
    case 'C':
      if (!parse_uint(s + 1, &out->value)) out->op = 0;
      break;
    case 'A':
    case 'B':
    case 'S':
    case 'X':
    case '?':
      if (s[1]) out->op = 0;
      break;
    default:
      out->op = 0;
  }
  cmd->tail = (uint8_t)((cmd->tail + 1) % FP_CMD_QUEUE);
  return 1;
}
