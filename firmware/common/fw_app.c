#include "fw_app.h"

static void setup_i2c_sensors(const fw_board_t* b, fw_state_t* s) {
  for (uint8_t c = 0; c < b->n_channels; ++c)
    if ((s->mask >> c & 1) && b->channels[c].kind == SENSOR_INA226 &&
        !b->i2c_write16(b->channels[c].i2c_address, INA_REG_CONFIG, INA226_CONFIG_FAST))
      ++s->i2c_errors;
}

void fw_start(const fw_board_t* b, fw_state_t* s, uint32_t boot_t_us) {
  s->lsb_volts = b->vref / (float)b->adc_full_scale;
  for (uint8_t c = 0; c < b->n_channels && c < 8; ++c)
    if (b->channels[c].kind == SENSOR_ANALOG) s->amps_per_volt[c] = 1.0f / b->channels[c].volts_per_amp;
  setup_i2c_sensors(b, s);
  fp_send_text(b->put, "# frugal-fw board=");
  fp_send_text(b->put, b->name);
  fp_send_text(b->put, " protocol=1\n");
  fp_send_event(b->put, FP_TYPE_BOOT, b->board_id, boot_t_us);
}

static void send_sample(const fw_board_t* b, const fw_state_t* s, uint8_t ch, uint32_t t,
                        float volts, float amps) {
  if (s->ascii)
    fp_send_sample_line(b->put, ch, t, volts, amps);
  else
    fp_send_sample(b->put, ch, t, volts, amps);
}

static void sample_channel(const fw_board_t* b, fw_state_t* s, uint8_t ch, uint32_t t) {
  const channel_config_t* c = &b->channels[ch];
  if (c->kind == SENSOR_ANALOG) {
    const float i_pin = adc_to_volts(b->adc_read(c->current_pin), s->lsb_volts);
    const float v_pin = adc_to_volts(b->adc_read(c->voltage_pin), s->lsb_volts);
    send_sample(b, s, ch, t, analog_volts(c, v_pin), analog_amps(c, s->amps_per_volt[ch], i_pin));
    return;
  }
  uint16_t shunt, bus;
  if (!b->i2c_read16(c->i2c_address, INA_REG_SHUNT, &shunt) ||
      !b->i2c_read16(c->i2c_address, INA_REG_BUS, &bus)) {
    ++s->i2c_errors; /* no frame: the host sees a missing interval, not a made-up value */
    return;
  }
  send_sample(b, s, ch, t, ina_volts(c, bus), ina_amps(c, (int16_t)shunt));
}

void fw_sample(const fw_board_t* b, fw_state_t* s, uint32_t t_us) {
  if (!s->streaming) return;
  for (uint8_t ch = 0; ch < b->n_channels; ++ch)
    if (s->mask >> ch & 1) sample_channel(b, s, ch, t_us);
}

static void send_info(const fw_board_t* b, const fw_state_t* s) {
  fp_send_text(b->put, "# frugal-fw board=");
  fp_send_text(b->put, b->name);
  fp_send_text(b->put, " rate=");
  fp_send_uint(b->put, s->rate);
  fp_send_text(b->put, " mask=");
  fp_send_uint(b->put, s->mask);
  fp_send_text(b->put, " overruns=");
  fp_send_uint(b->put, s->overruns);
  fp_send_text(b->put, " i2c_errors=");
  fp_send_uint(b->put, s->i2c_errors);
  fp_send_text(b->put, "\n");
}

void fw_command(const fw_board_t* b, fw_state_t* s, const fp_command_t* c) {
  switch (c->op) {
    case 'M':
      if (s->ascii)
        fp_send_event_line(b->put, 'M', (uint8_t)c->value, c->t_us);
      else
        fp_send_event(b->put, FP_TYPE_MARKER, (uint8_t)c->value, c->t_us);
      break;
    case 'R':
      if (c->value < b->min_rate || c->value > b->max_rate) {
        fp_send_text(b->put, "# error: rate out of range\n");
        break;
      }
      s->rate = c->value;
      b->set_rate(s->rate);
      break;
    case 'C':
      if (c->value == 0 || c->value >> b->n_channels) {
        fp_send_text(b->put, "# error: channel mask names no or unknown channels\n");
        break;
      }
      s->mask = (uint8_t)c->value;
      setup_i2c_sensors(b, s);
      break;
    case 'A':
    case 'B':
      s->ascii = c->op == 'A';
      break;
    case 'S':
    case 'X':
      s->streaming = c->op == 'S';
      break;
    case '?':
      send_info(b, s);
      break;
    default:
      fp_send_text(b->put, "# error: unknown command\n");
  }
}
