/* The board-independent part of the sensor firmware: channel sampling, host commands,
 * banner and boot event. A board (avr/main.c, stm32/main.c) supplies its clock, ADC,
 * I2C and UART through fw_board_t and calls fw_sample from its main loop. */
#ifndef FRUGAL_FW_APP_H
#define FRUGAL_FW_APP_H

#include <stdint.h>

#include "frugal_proto.h"
#include "sensors.h"

typedef struct {
  const char* name; /* "avr-uno", "stm32f4" */
  uint8_t board_id; /* FP_BOARD_* */
  const channel_config_t* channels;
  uint8_t n_channels;
  float vref;
  uint16_t adc_full_scale; /* 1024 (10 bit), 4096 (12 bit) */
  uint32_t min_rate, max_rate;
  fp_put_fn put;
  uint16_t (*adc_read)(uint8_t pin);
  uint8_t (*i2c_read16)(uint8_t address, uint8_t reg, uint16_t* value); /* 1 = ok */
  uint8_t (*i2c_write16)(uint8_t address, uint8_t reg, uint16_t value);
  void (*set_rate)(uint32_t hz);
} fw_board_t;

typedef struct {
  uint32_t rate;
  uint8_t mask;
  uint8_t ascii;
  uint8_t streaming;
  volatile uint16_t overruns; /* incremented by the board when a sample slot was missed */
  uint16_t i2c_errors;
  /* Reciprocals computed once: a float division costs ~30 us on an 8-bit AVR. */
  float lsb_volts;
  float amps_per_volt[8];
} fw_state_t;

void fw_start(const fw_board_t* b, fw_state_t* s, uint32_t boot_t_us);
void fw_command(const fw_board_t* b, fw_state_t* s, const fp_command_t* c);
void fw_sample(const fw_board_t* b, fw_state_t* s, uint32_t t_us);

#endif
