/* Sensor models and their calibration constants (docs/power.md, "Parts"), shared by
 * the AVR and STM32 builds. Values are from the parts' datasheets:
 *   ACS712 (Allegro ACS712 datasheet): output = Vcc/2 + sensitivity x I, at Vcc = 5 V:
 *     ACS712ELCTR-05B-T 185 mV/A, -20A-T 100 mV/A, -30A-T 66 mV/A.
 *   INA226 (TI SBOS547): shunt voltage register LSB 2.5 uV, bus voltage LSB 1.25 mV.
 *   INA219 (TI SBOS448): shunt voltage LSB 10 uV, bus voltage register bits 15..3, 4 mV.
 * The host's calibration file (frugal power calibrate) corrects offset and gain per
 * channel on top of these nominal values. */
#ifndef FRUGAL_SENSORS_H
#define FRUGAL_SENSORS_H

#include <stdint.h>

#define ACS712_05B_V_PER_A 0.185f
#define ACS712_20A_V_PER_A 0.100f
#define ACS712_30A_V_PER_A 0.066f

#define INA226_SHUNT_LSB_V 2.5e-6f
#define INA226_BUS_LSB_V 1.25e-3f
#define INA219_SHUNT_LSB_V 10e-6f
#define INA219_BUS_LSB_V 4e-3f

#define INA_REG_CONFIG 0x00
#define INA_REG_SHUNT 0x01
#define INA_REG_BUS 0x02
/* INA226 configuration: 1 average, 140 us bus and shunt conversions, continuous. */
#define INA226_CONFIG_FAST 0x4007u

typedef enum {
  SENSOR_ANALOG = 0, /* hall-effect current sensor + resistor divider on two ADC pins */
  SENSOR_INA226 = 1,
  SENSOR_INA219 = 2
} sensor_kind_t;

typedef struct {
  sensor_kind_t kind;
  /* analog: ADC pins, sensitivity (V/A), zero-current output (V), divider ratio (>= 1) */
  uint8_t current_pin, voltage_pin;
  float volts_per_amp, zero_volts, divider;
  /* I2C: 7-bit address and shunt resistance (ohm) */
  uint8_t i2c_address;
  float shunt_ohms;
  /* analog: divider between the current sensor's output and the pin (1 on a 5 V AVR;
   * 1.5 on a 3.3 V STM32, whose ADC pins must stay below 3.6 V) */
  float sense_divider;
} channel_config_t;

/* ADC counts to the pin voltage: the midpoint of the count's interval, since a
 * successive-approximation ADC truncates (code = floor(Vin x 2^bits / Vref)). */
static inline float adc_to_volts(uint16_t counts, float lsb_volts) {
  return ((float)counts + 0.5f) * lsb_volts; /* lsb_volts = Vref / 2^bits */
}
static inline float analog_amps(const channel_config_t* c, float amps_per_volt, float pin_volts) {
  return (pin_volts * c->sense_divider - c->zero_volts) * amps_per_volt; /* 1 / sensitivity */
}
static inline float analog_volts(const channel_config_t* c, float pin_volts) {
  return pin_volts * c->divider;
}
/* INA2xx registers to SI units. */
static inline float ina_amps(const channel_config_t* c, int16_t shunt_raw) {
  const float lsb = c->kind == SENSOR_INA226 ? INA226_SHUNT_LSB_V : INA219_SHUNT_LSB_V;
  return (float)shunt_raw * lsb / c->shunt_ohms;
}
static inline float ina_volts(const channel_config_t* c, uint16_t bus_raw) {
  if (c->kind == SENSOR_INA226) return (float)bus_raw * INA226_BUS_LSB_V;
  return (float)(bus_raw >> 3) * INA219_BUS_LSB_V;
}

#endif
