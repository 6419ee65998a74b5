// kiln::save / kiln::load: StateDicts to and from safetensors files, through the byte-level format layer.
#include "kiln/io/serialize.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "io/safetensors_format.h"
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/version.h"

namespace kiln {
namespace {

constexpr const char* kSingleTensorKey = "tensor";

// The values of t as contiguous host bytes; the bytes of a view are its own elements, not its whole storage.
io::SafetensorsEntry to_entry(const std::string& name, const Tensor& t, const std::string& path) {
  KILN_CHECK(t.defined(), "save('", path, "'): tensor '", name,
             "' is undefined (a default-constructed Tensor); drop it from the state dict or give it a value");
  NoGradGuard no_grad;
  Tensor host = t.detach();
  // Compact on the device first, so only the tensor's own elements cross the bus.
  if (!host.is_cpu()) host = host.contiguous().cpu();
  host = host.contiguous();
  io::SafetensorsEntry e;
  e.name = name;
  e.dtype = host.dtype();
  e.shape = host.sizes();
  e.bytes.resize(host.nbytes());
  if (!e.bytes.empty()) std::memcpy(e.bytes.data(), host.data_ptr(), e.bytes.size());
  return e;
}

// Moves e's bytes into a fresh tensor on dev, releasing them as it goes so a load peaks near one copy of the file.
Tensor from_entry(io::SafetensorsEntry& e, const Device& dev) {
  Tensor host = make_tensor(e.shape, e.dtype, Device(kCPU));
  if (!e.bytes.empty()) std::memcpy(host.data_ptr(), e.bytes.data(), e.bytes.size());
  if (e.dtype == DType::Bool) {
    // A C++ bool holding a byte other than 0 or 1 is undefined behaviour; other writers may store any non-zero.
    auto* b = static_cast<uint8_t*>(host.data_ptr());
    for (size_t i = 0; i < e.bytes.size(); ++i) b[i] = b[i] != 0;
  }
  std::vector<uint8_t>().swap(e.bytes);
  return dev.is_cpu() ? host : host.to(dev);
}

}  // namespace

void save(const StateDict& tensors, const std::string& path, const std::map<std::string, std::string>& metadata) {
  io::SafetensorsFile file;
  file.metadata = metadata;
  file.metadata.emplace("format", "kiln");
  file.metadata["kiln_version"] = KILN_VERSION;
  file.entries.reserve(tensors.size());
  for (const auto& [name, t] : tensors) file.entries.push_back(to_entry(name, t, path));
  // Largest elements first: every offset is then a multiple of each later tensor's element size (the header is
  // padded to 8), so readers may map the data in place. The map already sorted by name; stability keeps that.
  std::stable_sort(file.entries.begin(), file.entries.end(),
                   [](const io::SafetensorsEntry& a, const io::SafetensorsEntry& b) {
                     return element_size(a.dtype) > element_size(b.dtype);
                   });
  io::write_safetensors(path, file);
}

StateDict load(const std::string& path, Device map_location, std::map<std::string, std::string>* metadata_out) {
  // Before reading: a missing GPU should not cost a read of a multi-gigabyte file.
  const Device dev = resolve_device(map_location);
  io::SafetensorsFile file = io::read_safetensors(path);
  StateDict out;
  for (io::SafetensorsEntry& e : file.entries) out.emplace(e.name, from_entry(e, dev));
  if (metadata_out) *metadata_out = std::move(file.metadata);
  return out;
}

void save(const Tensor& tensor, const std::string& path, const std::map<std::string, std::string>& metadata) {
  save(StateDict{{kSingleTensorKey, tensor}}, path, metadata);
}

Tensor load_tensor(const std::string& path, Device map_location) {
  const Device dev = resolve_device(map_location);
  io::SafetensorsFile file = io::read_safetensors(path);
  std::string keys;
  for (io::SafetensorsEntry& e : file.entries) {
    if (e.name == kSingleTensorKey) return from_entry(e, dev);
    keys += (keys.empty() ? "'" : ", '") + e.name + "'";
  }
  throw IOError("load_tensor('" + path + "'): the file has no tensor named '" + kSingleTensorKey + "' (it holds " +
                (keys.empty() ? std::string("no tensors") : keys) + "); files of several tensors load with kiln::load()");
}

}  // namespace kiln
