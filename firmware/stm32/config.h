/* The STM32F4 (Black Pill F401/F411) testbed's channels. ADC pins PA0..PA7 are 3.3 V
 * pins: the ACS712's 5 V output reaches them through a 10k/20k divider (sense_divider
 * 1.5), the rail through 100k/10k (divider 11). INA226 on I2C1 (PB6 SCL, PB7 SDA). */
#ifndef FRUGAL_STM32_CONFIG_H
#define FRUGAL_STM32_CONFIG_H

#include "sensors.h"

#define FW_CPU_HZ 16000000UL /* HSI after reset: no PLL set-up, nothing to misconfigure */
#define FW_BAUD 1000000UL
#define FW_VREF 3.3f
#define FW_DEFAULT_RATE 1000
#define FW_MIN_RATE 10
#define FW_MAX_RATE 20000
#define FW_DEFAULT_MASK 0x01

static const channel_config_t kChannels[] = {
    {SENSOR_ANALOG, 0, 1, ACS712_05B_V_PER_A, 2.5f, 11.0f, 0, 0, 1.5f},
    {SENSOR_ANALOG, 2, 3, ACS712_20A_V_PER_A, 2.5f, 11.0f, 0, 0, 1.5f},
    {SENSOR_ANALOG, 4, 5, ACS712_30A_V_PER_A, 2.5f, 11.0f, 0, 0, 1.5f},
    {SENSOR_INA226, 0, 0, 0, 0, 0, 0x40, 0.01f, 0},
};
#define FW_CHANNELS (sizeof kChannels / sizeof kChannels[0])

#endif
