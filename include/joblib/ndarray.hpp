// joblib-cpp: ndarray<T>, an N-dimensional row-major array of arithmetic or std::complex
// elements that either owns its storage or views an external buffer (a file mapping, a
// decompressed blob, a user buffer).
//
//   joblib::ndarray<double> a({2, 3});          // zero-filled 2x3
//   a(1, 2) = 5.0;                              // bounds-checked when JOBLIB_CHECKED
//   auto b = a.reshape({3, 2});                 // a copy with another shape
//   joblib::dump(a, "a.jl");  auto m = joblib::load<joblib::ndarray<double>>("a.jl", {.mmap =
//   joblib::mmap_mode::r});
#pragma once

#include <algorithm>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"

JOBLIB_BEGIN_NAMESPACE

/// Element types ndarray accepts: arithmetic types except long double (it has no portable
/// storage format) and std::complex<float> / std::complex<double>.
template <class T>
concept ndarray_element =
    (std::is_arithmetic_v<T> && !std::is_same_v<T, long double>) ||
    std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>;

/// An N-dimensional, row-major (C order) array.
///
/// Storage is either owned (created by the constructors, by copying, or by load without mmap)
/// or a *view* of external memory (ndarray::view, or load with mmap): a view keeps its owner
/// alive through a std::shared_ptr<void>. A read-only view (mmap_mode::r) refuses mutable
/// access: the non-const data(), flat() and operator() throw joblib::error instead of letting
/// a write fault on a read-only page.
///
/// Copies are deep and always own their storage (value semantics, like std::vector); moves are
/// cheap and keep the view/owner status.
///
/// Thread safety: like std::vector (concurrent const access is safe).
template <ndarray_element T>
class ndarray {
 public:
  using value_type = T;
  using size_type = std::size_t;

  /// An empty 1-D array (shape {0}).
  ndarray() : shape_{0} {}

  /// A zero-filled array of the given shape. Throws std::length_error if the element count
  /// overflows.
  explicit ndarray(std::vector<std::size_t> shape) : shape_(std::move(shape)) {
    allocate(checked_size(shape_));
  }
  /// A zero-filled array: `ndarray<double> a({2, 3});`
  ndarray(std::initializer_list<std::size_t> shape) : ndarray(std::vector<std::size_t>(shape)) {}

  /// An array of the given shape holding a copy of `values` (values.size() must equal the
  /// element count, else std::invalid_argument).
  ndarray(std::vector<std::size_t> shape, std::span<const T> values) : shape_(std::move(shape)) {
    const std::size_t n = checked_size(shape_);
    if (values.size() != n)
      throw std::invalid_argument("joblib::ndarray: values do not match shape");
    allocate(n);
    std::copy(values.begin(), values.end(), data_);
  }

  /// A view of `size(shape)` elements at `data`, kept alive by `keep_alive` (may be null when
  /// the caller guarantees the buffer outlives the view). `writable == false` makes it
  /// read-only. Throws std::invalid_argument if data.size() does not match the shape.
  static ndarray view(std::span<T> data, std::vector<std::size_t> shape,
                      std::shared_ptr<void> keep_alive = {}, bool writable = true) {
    ndarray a(no_alloc{});
    a.shape_ = std::move(shape);
    if (checked_size(a.shape_) != data.size()) {
      throw std::invalid_argument("joblib::ndarray::view: buffer does not match shape");
    }
    a.data_ = data.data();
    a.size_ = data.size();
    a.owner_ = std::move(keep_alive);
    a.writable_ = writable;
    a.owns_ = false;
    return a;
  }

  ndarray(const ndarray& other) : shape_(other.shape_) {
    allocate(other.size_);
    std::copy(other.data_, other.data_ + other.size_, data_);
  }
  ndarray(ndarray&& other) noexcept
      : shape_(std::move(other.shape_)),
        owner_(std::move(other.owner_)),
        data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        writable_(std::exchange(other.writable_, true)),
        owns_(std::exchange(other.owns_, true)) {
    other.shape_ = {0};
  }
  ndarray& operator=(const ndarray& other) {
    if (this != &other) *this = ndarray(other);
    return *this;
  }
  ndarray& operator=(ndarray&& other) noexcept {
    if (this != &other) {
      shape_ = std::move(other.shape_);
      owner_ = std::move(other.owner_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      writable_ = std::exchange(other.writable_, true);
      owns_ = std::exchange(other.owns_, true);
      other.shape_ = {0};
    }
    return *this;
  }
  ~ndarray() = default;

  /// Extent of each dimension, outermost first.
  std::span<const std::size_t> shape() const noexcept { return shape_; }
  /// Number of dimensions.
  std::size_t ndim() const noexcept { return shape_.size(); }
  /// Total number of elements.
  std::size_t size() const noexcept { return size_; }
  /// True when size() == 0.
  bool empty() const noexcept { return size_ == 0; }
  /// False for a read-only view.
  bool writable() const noexcept { return writable_; }
  /// True when the array owns its storage (false for views).
  bool owns_data() const noexcept { return owns_; }

  /// Pointer to the first element (row-major).
  const T* data() const noexcept { return data_; }
  /// Mutable pointer; throws joblib::error on a read-only view.
  T* data() {
    require_writable();
    return data_;
  }
  /// All elements in row-major order.
  std::span<const T> flat() const noexcept { return {data_, size_}; }
  /// Mutable elements; throws joblib::error on a read-only view.
  std::span<T> flat() {
    require_writable();
    return {data_, size_};
  }

  /// Element at the given indices (one per dimension). With JOBLIB_CHECKED (debug builds) a
  /// wrong index count or an out-of-range index throws std::out_of_range.
  template <class... I>
  requires(std::is_integral_v<I>&&...) const T& operator()(I... idx) const {
    return data_[offset(idx...)];
  }
  /// Mutable element; also throws joblib::error on a read-only view.
  template <class... I>
  requires(std::is_integral_v<I>&&...) T& operator()(I... idx) {
    require_writable();
    return data_[offset(idx...)];
  }

  /// A copy of this array with another shape of the same element count (else
  /// std::invalid_argument).
  ndarray reshape(std::vector<std::size_t> shape) const& {
    ndarray copy(*this);
    return std::move(copy).reshape(std::move(shape));
  }
  /// Reshapes in place (no copy) and returns the array.
  ndarray reshape(std::vector<std::size_t> shape) && {
    if (checked_size(shape) != size_) {
      throw std::invalid_argument("joblib::ndarray::reshape: element count differs");
    }
    shape_ = std::move(shape);
    return std::move(*this);
  }

  /// Same shape and equal elements.
  friend bool operator==(const ndarray& a, const ndarray& b) {
    return a.shape_ == b.shape_ && std::equal(a.data_, a.data_ + a.size_, b.data_);
  }

 private:
  struct no_alloc {};
  explicit ndarray(no_alloc) {}

  static std::size_t checked_size(const std::vector<std::size_t>& shape) {
    // Any zero extent makes an empty array, whatever the others are (as in numpy).
    if (std::find(shape.begin(), shape.end(), std::size_t{0}) != shape.end()) return 0;
    std::size_t n = 1;
    for (std::size_t d : shape) {
      if (d != 0 && n > static_cast<std::size_t>(-1) / sizeof(T) / d) {
        throw std::length_error("joblib::ndarray: shape too large");
      }
      n *= d;
    }
    return n;
  }

  void allocate(std::size_t n) {
    // make_shared<T[]> value-initializes: a new array is zero-filled like numpy.zeros.
    auto storage = std::make_shared<T[]>(n);
    data_ = storage.get();
    size_ = n;
    owner_ = std::move(storage);
    writable_ = true;
    owns_ = true;
  }

  void require_writable() const {
    if (!writable_) throw error("joblib::ndarray: mutable access to a read-only view");
  }

  template <class... I>
  std::size_t offset(I... idx) const {
    const std::size_t index[] = {static_cast<std::size_t>(idx)..., 0};
#if JOBLIB_CHECKED
    if (sizeof...(I) != shape_.size()) {
      throw std::out_of_range("joblib::ndarray: expected " + std::to_string(shape_.size()) +
                              " indices, got " + std::to_string(sizeof...(I)));
    }
    for (std::size_t k = 0; k < sizeof...(I); ++k) {
      if (index[k] >= shape_[k]) {
        throw std::out_of_range("joblib::ndarray: index " + std::to_string(index[k]) +
                                " out of range for dimension " + std::to_string(k) + " of extent " +
                                std::to_string(shape_[k]));
      }
    }
#endif
    std::size_t off = 0;
    for (std::size_t k = 0; k < sizeof...(I); ++k) off = off * shape_[k] + index[k];
    return off;
  }

  std::vector<std::size_t> shape_;
  std::shared_ptr<void> owner_;  // owned storage or the view's keep-alive
  T* data_ = nullptr;
  std::size_t size_ = 0;
  bool writable_ = true;
  bool owns_ = true;
};

JOBLIB_END_NAMESPACE
