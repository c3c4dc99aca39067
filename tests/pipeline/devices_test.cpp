// Devices files and presets (pipeline/devices.h).
#include "frugal/pipeline/devices.h"

#include <gtest/gtest.h>

#include "frugal/core/error.h"

using namespace frugal;
using namespace frugal::pipeline;

namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_devices(yaml, "d.yaml");
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Devices, EveryPresetParses) {
  for (const auto& name : preset_names()) {
    const DeviceSet s = load_devices(name);
    EXPECT_FALSE(s.devices.empty()) << name;
    EXPECT_EQ(s.source, name);
  }
  const DeviceSet x8 = load_devices("edgetpu-x8");
  ASSERT_EQ(x8.devices.size(), 8u);
  EXPECT_EQ(x8.devices[7].name, "tpu7");
  EXPECT_EQ(x8.devices[0].kind, DeviceKind::kModel);
  EXPECT_EQ(x8.devices[0].model.param_memory_bytes, 8 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(x8.devices[0].model.peak_macs_per_s.at("int8"), 2e12);
  EXPECT_TRUE(x8.devices[0].estimate());
  const DeviceSet pc = load_devices("phone+cloud");
  ASSERT_EQ(pc.devices.size(), 2u);
  EXPECT_EQ(pc.devices[1].kind, DeviceKind::kRemote);
  EXPECT_DOUBLE_EQ(pc.devices[1].remote.up_bytes_per_s, 625e3);
  const DeviceSet host = load_devices("host-cores");
  EXPECT_EQ(host.devices[0].kind, DeviceKind::kCpu);
  EXPECT_EQ(host.devices[0].cpu.threads, 1);
  EXPECT_EQ(host.devices[0].cpu.cores.size(), 1u);
}

TEST(Devices, KindsAndFields) {
  const DeviceSet s = parse_devices(R"(devices:
  - {name: a, kind: cpu, cores: "0-1"}
  - {name: g, kind: cuda, index: 1, memory_bytes: 16Gi}
  - {name: r, kind: remote, up_bytes_per_s: 1M, down_bytes_per_s: 2M, server_macs_per_s: 1T, rtt_s: 0.05}
)",
                                    "d.yaml");
  ASSERT_EQ(s.devices.size(), 3u);
  EXPECT_EQ(s.devices[0].cpu.cores, (std::vector<int>{0, 1}));
  EXPECT_EQ(s.devices[0].cpu.threads, 2);
  EXPECT_EQ(s.devices[1].cuda.index, 1);
  EXPECT_EQ(s.devices[1].memory_bytes, int64_t{16} << 30);
  EXPECT_EQ(s.devices[1].origin, "d.yaml:3");
  EXPECT_DOUBLE_EQ(s.devices[2].remote.server_macs_per_s, 1e12);
}

TEST(Devices, ErrorsNameFileAndLine) {
  EXPECT_EQ(error_of("devices:\n  - {name: a, kind: gpu}\n").rfind("d.yaml:2:", 0), 0u)
      << error_of("devices:\n  - {name: a, kind: gpu}\n");
  EXPECT_NE(error_of("devices:\n  - {name: a, kind: gpu}\n").find("unknown device kind 'gpu'"),
            std::string::npos);
  EXPECT_NE(error_of("devices:\n  - name: a\n    kind: cpu\n    speed: 3\n")
                .find("d.yaml:4:5: unknown key 'speed'"),
            std::string::npos)
      << error_of("devices:\n  - name: a\n    kind: cpu\n    speed: 3\n");
  EXPECT_NE(error_of("devices: [ {name: a, kind: cpu}\n").find("d.yaml:"), std::string::npos);
  EXPECT_NE(error_of("devices:\n  - {name: t, kind: model, peak_macs_per_s: {int8: fast}, "
                     "link_bytes_per_s: 1M}\n")
                .find("d.yaml:2:"),
            std::string::npos);
  EXPECT_NE(
      error_of("devices:\n  - {name: a, kind: cpu}\n  - {name: a, kind: cpu}\n").find("used twice"),
      std::string::npos);
  EXPECT_NE(error_of("devices: []\n").find("non-empty"), std::string::npos);
  EXPECT_NE(error_of("devs: []\n").find("d.yaml:1:1:"), std::string::npos);
  EXPECT_NE(error_of("devices:\n  - {name: r, kind: remote, up_bytes_per_s: 1M}\n")
                .find("down_bytes_per_s is required"),
            std::string::npos);
}

TEST(Devices, UnknownPresetListsThePresets) {
  try {
    load_devices("edgetpu-x9");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown preset 'edgetpu-x9'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("edgetpu-x8"), std::string::npos);
  }
  EXPECT_THROW(load_devices("/no/such/devices.yaml"), UserError);
}

// kind accel: a modeled accelerator of frugal accel (see accel_device_test.cpp for its prices).
namespace {

const char* kAccelArrays = R"(devices:
  - {name: eie, kind: accel, arch: eie, format: "w=int4,a=int8,acc=fixed24.0",
     link_bytes_per_s: 1G, link_latency_s: 0.0002, cost: synthesized}
  - {name: edge, kind: accel, arch: edge, dataflow: ws, link_bytes_per_s: 50M}
)";

std::string entry(const std::string& fields) {
  return "devices:\n  - name: a\n    kind: accel\n    link_bytes_per_s: 1G\n" + fields;
}

}  // namespace

TEST(AccelDevice, EntryNamesAnArchitectureAFormatAndADataflow) {
  const DeviceSet s = parse_devices(kAccelArrays, "d.yaml");
  ASSERT_EQ(s.devices.size(), 2u);
  EXPECT_EQ(s.devices[0].kind, DeviceKind::kAccel);
  EXPECT_TRUE(s.devices[0].estimate());
  EXPECT_EQ(s.devices[0].accel.arch.name, "eie");
  EXPECT_EQ(numeric::to_string(s.devices[0].accel.formats), "w=int4,a=int8,acc=fixed24.0");
  EXPECT_EQ(s.devices[0].accel.cost, numeric::CostSource::kSynthesized);
  EXPECT_EQ(numeric::to_string(s.devices[1].accel.formats), "w=fp32,a=fp32,acc=fp32");
  EXPECT_FALSE(s.devices[0].accel.dataflow.has_value());
  EXPECT_DOUBLE_EQ(s.devices[0].accel.link_latency_s, 2e-4);
  EXPECT_EQ(s.devices[1].accel.arch.pe_rows, 16);
  EXPECT_EQ(s.devices[1].accel.dataflow, accel::Dataflow::kWeightStationary);
  EXPECT_TRUE(parse_devices(entry("    arch: tpu\n    dataflow: best\n"), "d.yaml")
                  .devices[0]
                  .accel.best_dataflow);
}

TEST(AccelDevice, BadEntriesNameTheFileLineAndKey) {
  EXPECT_EQ(error_of("devices:\n  - {name: a, kind: accel, link_bytes_per_s: 1G}\n")
                .rfind("d.yaml:2:5: accel device 'a': arch is required", 0),
            0u);
  const std::string unknown = error_of(entry("    arch: eyeriz\n"));
  EXPECT_EQ(unknown.rfind("d.yaml:5:11: arch: 'eyeriz' is neither a preset", 0), 0u) << unknown;
  const std::string format = error_of(entry("    arch: eyeriss\n    format: w=e4m3,z=int8\n"));
  EXPECT_EQ(format.rfind("d.yaml:6:13: format: ", 0), 0u) << format;
  const std::string flow = error_of(entry("    arch: eyeriss\n    dataflow: diagonal\n"));
  EXPECT_EQ(flow.rfind("d.yaml:6:15: dataflow: ", 0), 0u) << flow;
  EXPECT_NE(error_of("devices:\n  - {name: a, kind: accel, arch: eie}\n")
                .find("link_bytes_per_s is required"),
            std::string::npos);
  EXPECT_NE(error_of(entry("    arch: eie\n    peak_macs_per_s: {int8: 1}\n"))
                .find("unknown key 'peak_macs_per_s' for a accel device"),
            std::string::npos);
}
