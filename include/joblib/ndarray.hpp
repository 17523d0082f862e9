// joblib-cpp: ndarray<T>, an N-dimensional row-major array of arithmetic or std::complex
// elements that either owns its storage or views an external buffer (a file mapping, a
// decompressed blob, a user buffer). ndarray<const T> is its read-only form: what
// mmap_mode::r loads into, zero-copy over a read-only mapping.
//
//   joblib::ndarray<double> a({2, 3});          // zero-filled 2x3
//   a(1, 2) = 5.0;                              // bounds-checked when JOBLIB_CHECKED
//   joblib::dump(a, "a.jl");
//   auto m = joblib::load<joblib::ndarray<const double>>("a.jl", {.mmap = joblib::mmap_mode::r});
//   double x = m(1, 2);                         // reads the mapped file; m(1, 2) = 1 does not
//   compile
#pragma once

#include <algorithm>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"

JOBLIB_BEGIN_NAMESPACE

/// Element types ndarray accepts: arithmetic types except long double (it has no portable
/// storage format) and std::complex<float> / std::complex<double>. ndarray<const T> takes the
/// same T.
template <class T>
concept ndarray_element =
    (std::is_arithmetic_v<T> && !std::is_same_v<T, long double>) ||
    std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>;

/// An N-dimensional, row-major (C order) array of `T`, or a read-only one for `const T`.
///
/// Storage is either owned (created by the constructors, by copying, or by load without mmap)
/// or a *view* of external memory (ndarray::view, or load with mmap): a view keeps its owner
/// alive through a std::shared_ptr<const void>.
///
/// - `ndarray<T>` has value semantics like std::vector: copies are deep and own their storage;
///   moves are cheap and keep the view/owner status.
/// - `ndarray<const T>` is immutable: element access returns `const T&`, so writing through
///   it does not compile. Because nobody can write through it, copies share the storage
///   (cheap, like a std::shared_ptr<const>). An ndarray<T> converts to it: by moving (no copy)
///   or by copying the elements.
///
/// Thread safety: like std::vector (concurrent const access is safe).
template <class T>
requires ndarray_element<std::remove_const_t<T>>
class ndarray {
 public:
  using element_type = T;                     ///< T or const T
  using value_type = std::remove_const_t<T>;  ///< the element without const
  using size_type = std::size_t;
  /// True for ndarray<const T>.
  static constexpr bool is_read_only = std::is_const_v<T>;

  /// An empty 1-D array (shape {0}).
  ndarray() : shape_{0} {}

  /// A zero-filled array of the given shape. Throws joblib::invalid_argument if the element
  /// count overflows.
  explicit ndarray(std::vector<std::size_t> shape) : shape_(std::move(shape)) {
    allocate(checked_size(shape_));
  }
  /// A zero-filled array: `ndarray<double> a({2, 3});`
  ndarray(std::initializer_list<std::size_t> shape) : ndarray(std::vector<std::size_t>(shape)) {}

  /// An array of the given shape holding a copy of `values` (values.size() must equal the
  /// element count, else joblib::invalid_argument).
  ndarray(std::vector<std::size_t> shape, std::span<const value_type> values)
      : shape_(std::move(shape)) {
    const std::size_t n = checked_size(shape_);
    if (values.size() != n) {
      throw invalid_argument("joblib::ndarray: " + std::to_string(values.size()) +
                             " values do not fill a shape of " + std::to_string(n) + " elements");
    }
    std::copy(values.begin(), values.end(), allocate(n));
  }

  /// A view of `size(shape)` elements at `data`, kept alive by `keep_alive` (may be null when
  /// the caller guarantees the buffer outlives the view). Throws joblib::invalid_argument if
  /// data.size() does not match the shape.
  static ndarray view(std::span<T> data, std::vector<std::size_t> shape,
                      std::shared_ptr<const void> keep_alive = {}) {
    ndarray a(no_alloc{});
    a.shape_ = std::move(shape);
    if (checked_size(a.shape_) != data.size()) {
      throw invalid_argument("joblib::ndarray::view: a buffer of " + std::to_string(data.size()) +
                             " elements does not match the shape");
    }
    a.data_ = data.data();
    a.size_ = data.size();
    a.owner_ = std::move(keep_alive);
    a.owns_ = false;
    return a;
  }

  /// An array that owns `storage`, a buffer holding `size(shape)` elements at `data` (the
  /// buffer's deleter frees it once the array and its shared copies are gone). Unlike view(),
  /// owns_data() is true. Throws joblib::invalid_argument if data.size() does not match.
  ///
  ///   auto buffer = std::shared_ptr<double[]>(new double[6]{});
  ///   auto a = joblib::ndarray<double>::adopt({buffer.get(), 6}, {2, 3}, buffer);
  static ndarray adopt(std::span<T> data, std::vector<std::size_t> shape,
                       std::shared_ptr<const void> storage) {
    ndarray a = view(data, std::move(shape), std::move(storage));
    a.owns_ = true;
    return a;
  }

  /// A deep copy for ndarray<T>; a copy sharing the storage for ndarray<const T>.
  ndarray(const ndarray& other) : shape_(other.shape_) {
    if constexpr (is_read_only) {
      data_ = other.data_;
      size_ = other.size_;
      owner_ = other.owner_;
      owns_ = other.owns_;
    } else {
      std::copy(other.data_, other.data_ + other.size_, allocate(other.size_));
    }
  }
  ndarray(ndarray&& other) noexcept
      : shape_(std::exchange(other.shape_, {0})),
        owner_(std::move(other.owner_)),
        data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        owns_(std::exchange(other.owns_, true)) {}

  /// ndarray<const T> from an ndarray<T> it takes over (no copy).
  template <class U>
  requires(is_read_only&& std::is_same_v<U, value_type>) ndarray(ndarray<U>&& other)
  noexcept
      : shape_(std::move(other.shape_)),
        owner_(std::move(other.owner_)),
        data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        owns_(std::exchange(other.owns_, true)) {
    other.shape_ = {0};
  }
  /// ndarray<const T> holding a copy of an ndarray<T>'s elements (which may change later).
  template <class U>
  requires(is_read_only&& std::is_same_v<U, value_type>) explicit ndarray(const ndarray<U>& other)
      : ndarray(std::vector<std::size_t>(other.shape().begin(), other.shape().end()),
                other.flat()) {}

  ndarray& operator=(const ndarray& other) {
    if (this != &other) *this = ndarray(other);
    return *this;
  }
  ndarray& operator=(ndarray&& other) noexcept {
    if (this != &other) {
      shape_ = std::exchange(other.shape_, {0});
      owner_ = std::move(other.owner_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      owns_ = std::exchange(other.owns_, true);
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
  /// True when the array owns its storage (false for views).
  bool owns_data() const noexcept { return owns_; }

  /// Pointer to the first element (row-major).
  const value_type* data() const noexcept { return data_; }
  /// Pointer to the first element; `const T*` for ndarray<const T>.
  T* data() noexcept { return data_; }
  /// All elements in row-major order.
  std::span<const value_type> flat() const noexcept { return {data_, size_}; }
  /// All elements; a span of `const T` for ndarray<const T>.
  std::span<T> flat() noexcept { return {data_, size_}; }

  /// Element at the given indices (one per dimension). With JOBLIB_CHECKED (debug builds) a
  /// wrong index count or an out-of-range index throws joblib::invalid_argument; otherwise
  /// there is no check at all.
  template <class... I>
  requires(std::is_integral_v<I>&&...) const value_type& operator()(I... idx) const {
    return data_[offset(idx...)];
  }
  /// Element at the given indices; `const T&` for ndarray<const T>.
  template <class... I>
  requires(std::is_integral_v<I>&&...) T& operator()(I... idx) { return data_[offset(idx...)]; }

  /// A copy of this array with another shape of the same element count (else
  /// joblib::invalid_argument); for ndarray<const T> it shares the storage.
  ndarray reshape(std::vector<std::size_t> shape) const& {
    ndarray copy(*this);
    return std::move(copy).reshape(std::move(shape));
  }
  /// Reshapes in place (no copy) and returns the array.
  ndarray reshape(std::vector<std::size_t> shape) && {
    if (checked_size(shape) != size_) {
      throw invalid_argument("joblib::ndarray::reshape: the element count differs");
    }
    shape_ = std::move(shape);
    return std::move(*this);
  }

  /// Same shape and equal elements (read-only and writable arrays compare with each other).
  template <class U>
  requires std::is_same_v<std::remove_const_t<U>, value_type>
  friend bool operator==(const ndarray& a, const ndarray<U>& b) {
    const auto other_shape = b.shape();
    return std::equal(a.shape_.begin(), a.shape_.end(), other_shape.begin(), other_shape.end()) &&
           std::ranges::equal(a.flat(), b.flat());
  }

 private:
  template <class U>
  requires ndarray_element<std::remove_const_t<U>>
  friend class ndarray;

  struct no_alloc {};
  explicit ndarray(no_alloc) {}

  static std::size_t checked_size(const std::vector<std::size_t>& shape) {
    // Any zero extent makes an empty array, whatever the others are (as in numpy).
    if (std::find(shape.begin(), shape.end(), std::size_t{0}) != shape.end()) return 0;
    std::size_t n = 1;
    for (std::size_t d : shape) {
      if (n > static_cast<std::size_t>(-1) / sizeof(value_type) / d) {
        throw invalid_argument("joblib::ndarray: the shape is too large");
      }
      n *= d;
    }
    return n;
  }

  // Owned, zero-filled storage for n elements (like numpy.zeros); returns it for filling.
  value_type* allocate(std::size_t n) {
    auto storage = std::make_shared<value_type[]>(n);
    value_type* p = storage.get();
    data_ = p;
    size_ = n;
    owner_ = std::move(storage);
    owns_ = true;
    return p;
  }

  template <class... I>
  std::size_t offset(I... idx) const {
    const std::size_t index[] = {static_cast<std::size_t>(idx)..., 0};
#if JOBLIB_CHECKED
    if (sizeof...(I) != shape_.size()) {
      throw invalid_argument("joblib::ndarray: expected " + std::to_string(shape_.size()) +
                             " indices, got " + std::to_string(sizeof...(I)));
    }
    for (std::size_t k = 0; k < sizeof...(I); ++k) {
      if (index[k] >= shape_[k]) {
        throw invalid_argument("joblib::ndarray: index " + std::to_string(index[k]) +
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
  std::shared_ptr<const void> owner_;  // owned storage or the view's keep-alive
  T* data_ = nullptr;
  std::size_t size_ = 0;
  bool owns_ = true;
};

JOBLIB_END_NAMESPACE
