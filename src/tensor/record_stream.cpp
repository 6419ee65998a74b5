// Tensor::record_stream: tells the CUDA caching allocator that another stream uses a tensor's memory.
#include "backend/cuda/record_stream.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

void Tensor::record_stream(cuda::Stream stream) const {
  KILN_CHECK(defined(), "record_stream: the tensor is undefined");
  if (!is_cuda()) return;  // host memory is not stream-ordered (pinned copies track themselves)
  KILN_CHECK_DEVICE(stream.device() == device().index(), "record_stream: the tensor is on ", device(),
                    " but the stream belongs to cuda:", stream.device(),
                    "; a stream can only use memory of its own GPU, so pass a stream of ", device(),
                    " (cuda::current_stream(", device().index(), ") or cuda::new_stream(", device().index(), "))");
  // The storage's base pointer, not data_ptr(): a view's offset points inside the block the allocator tracks.
  cuda::detail::caching_record_stream(storage()->data(), stream);
}
}  // namespace kiln
