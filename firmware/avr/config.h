/* The Arduino Uno testbed's channels (edit for your wiring, docs/power.md "Wiring").
 * A4/A5 are the I2C pins, so analog sensors use A0..A3. The default set matches the
 * simavr end-to-end test: channel 0 = ACS712-05B on A0, 47k/10k divider on A1. */
#ifndef FRUGAL_AVR_CONFIG_H
#define FRUGAL_AVR_CONFIG_H

#include "sensors.h"

#define FW_BAUD 1000000UL    /* U2X, UBRR = 1: exact at 16 MHz */
#define FW_VREF 5.0f         /* AVcc reference */
#define FW_DEFAULT_RATE 1000 /* Hz */
#define FW_MIN_RATE 50       /* one Timer1 compare period (16 bit at 2 MHz) */
#define FW_MAX_RATE 20000
#define FW_DEFAULT_MASK 0x01

static const channel_config_t kChannels[] = {
    {SENSOR_ANALOG, 0, 1, ACS712_05B_V_PER_A, 2.5f, 5.7f, 0, 0, 1}, /* 12 V, <= 5 A */
    {SENSOR_ANALOG, 2, 3, ACS712_20A_V_PER_A, 2.5f, 5.7f, 0, 0, 1}, /* 12 V, <= 20 A */
    {SENSOR_INA226, 0, 0, 0, 0, 0, 0x40, 0.01f, 0},                 /* 3.3 V rail, 10 mohm */
};
#define FW_CHANNELS (sizeof kChannels / sizeof kChannels[0])

#endif
