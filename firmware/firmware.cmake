# Sensor firmware (firmware/, docs/power.md): cross-compiled with Debian's avr-gcc and
# arm-none-eabi-gcc. A missing cross compiler skips that board with a message; the host
# build never depends on them.
set(FRUGAL_FW_DIR ${CMAKE_SOURCE_DIR}/firmware)
set(FRUGAL_FW_OUT ${CMAKE_BINARY_DIR}/firmware)
set(FRUGAL_FW_COMMON ${FRUGAL_FW_DIR}/common/frugal_proto.c ${FRUGAL_FW_DIR}/common/fw_app.c)
file(GLOB FRUGAL_FW_COMMON_HEADERS ${FRUGAL_FW_DIR}/common/*.h)
set(FRUGAL_FW_CFLAGS -Os -std=gnu99 -Wall -Wextra -Werror -ffunction-sections -fdata-sections
    -I${FRUGAL_FW_DIR}/common)
file(MAKE_DIRECTORY ${FRUGAL_FW_OUT})
set(FRUGAL_FW_TARGETS)

find_program(FRUGAL_AVR_GCC avr-gcc)
find_program(FRUGAL_AVR_OBJCOPY avr-objcopy)
# simavr's header names the chip and clock in the ELF (.mmcu section, not flashed), so
# the harness can refuse firmware built for another board.
find_path(FRUGAL_SIMAVR_MCU_SECTION avr_mcu_section.h PATHS /usr/include/simavr/avr)
if(FRUGAL_AVR_GCC AND FRUGAL_AVR_OBJCOPY)
  set(FRUGAL_AVR_ELF ${FRUGAL_FW_OUT}/frugal-fw-avr-uno.elf)
  set(avr_section_flags)
  if(FRUGAL_SIMAVR_MCU_SECTION)
    set(avr_section_flags -DFW_SIMAVR_SECTION -I${FRUGAL_SIMAVR_MCU_SECTION}
        -Wl,--undefined=_mmcu,--section-start=.mmcu=0x910000)
  endif()
  add_custom_command(
    OUTPUT ${FRUGAL_AVR_ELF} ${FRUGAL_FW_OUT}/frugal-fw-avr-uno.hex
    COMMAND ${FRUGAL_AVR_GCC} -mmcu=atmega328p -DF_CPU=16000000UL ${FRUGAL_FW_CFLAGS}
            -I${FRUGAL_FW_DIR}/avr ${avr_section_flags} -Wl,--gc-sections
            -o ${FRUGAL_AVR_ELF} ${FRUGAL_FW_DIR}/avr/main.c ${FRUGAL_FW_COMMON}
    COMMAND ${FRUGAL_AVR_OBJCOPY} -O ihex -R .eeprom -R .mmcu ${FRUGAL_AVR_ELF}
            ${FRUGAL_FW_OUT}/frugal-fw-avr-uno.hex
    DEPENDS ${FRUGAL_FW_DIR}/avr/main.c ${FRUGAL_FW_DIR}/avr/config.h ${FRUGAL_FW_COMMON}
            ${FRUGAL_FW_COMMON_HEADERS}
    COMMENT "Cross-compiling the Arduino Uno (ATmega328P) sensor firmware"
    VERBATIM)
  list(APPEND FRUGAL_FW_TARGETS ${FRUGAL_AVR_ELF})
else()
  message(STATUS "firmware: avr-gcc/avr-objcopy not found, Arduino Uno firmware skipped "
                 "(apt-get install gcc-avr avr-libc)")
endif()

find_program(FRUGAL_ARM_GCC arm-none-eabi-gcc)
find_program(FRUGAL_ARM_OBJCOPY arm-none-eabi-objcopy)
if(FRUGAL_ARM_GCC AND FRUGAL_ARM_OBJCOPY)
  set(FRUGAL_STM32_ELF ${FRUGAL_FW_OUT}/frugal-fw-stm32f401.elf)
  add_custom_command(
    OUTPUT ${FRUGAL_STM32_ELF} ${FRUGAL_FW_OUT}/frugal-fw-stm32f401.bin
    COMMAND ${FRUGAL_ARM_GCC} -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
            ${FRUGAL_FW_CFLAGS} -Wno-override-init -I${FRUGAL_FW_DIR}/stm32 -nostartfiles
            --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections
            -T ${FRUGAL_FW_DIR}/stm32/stm32f401.ld -o ${FRUGAL_STM32_ELF}
            ${FRUGAL_FW_DIR}/stm32/startup.c ${FRUGAL_FW_DIR}/stm32/main.c ${FRUGAL_FW_COMMON}
    COMMAND ${FRUGAL_ARM_OBJCOPY} -O binary ${FRUGAL_STM32_ELF}
            ${FRUGAL_FW_OUT}/frugal-fw-stm32f401.bin
    DEPENDS ${FRUGAL_FW_DIR}/stm32/main.c ${FRUGAL_FW_DIR}/stm32/startup.c
            ${FRUGAL_FW_DIR}/stm32/config.h ${FRUGAL_FW_DIR}/stm32/stm32f401.ld
            ${FRUGAL_FW_COMMON} ${FRUGAL_FW_COMMON_HEADERS}
    COMMENT "Cross-compiling the STM32F401 (Black Pill) sensor firmware"
    VERBATIM)
  list(APPEND FRUGAL_FW_TARGETS ${FRUGAL_STM32_ELF})
else()
  message(STATUS "firmware: arm-none-eabi-gcc not found, STM32F4 firmware skipped "
                 "(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
endif()

if(FRUGAL_FW_TARGETS)
  add_custom_target(firmware ALL DEPENDS ${FRUGAL_FW_TARGETS})
endif()
