"""int8 reference runtime: TFLite-Micro integer arithmetic in numpy.

``quant_math`` holds the fixed-point primitives and the offline parameter
calculations (multipliers, shifts, activation ranges, input LUT); ``kernels``
holds one function per C kernel of embedded/kernels/, bit-exact with it.
"""

from edge_affect.runtime.int8 import kernels, quant_math

__all__ = ["kernels", "quant_math"]
