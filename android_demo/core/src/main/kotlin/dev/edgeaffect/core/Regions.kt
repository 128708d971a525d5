package dev.edgeaffect.core

/**
 * Which part of the frame the model sees, chosen by the manifest's input.source.
 * Face detectors give points and boxes in float pixels; the C preprocessing takes integer boxes.
 */
object Regions {
    /** Smallest integer box holding every point: floor of the minima, ceil of the maxima (box_from_landmarks). */
    fun bounds(xs: FloatArray, ys: FloatArray): Box {
        require(xs.isNotEmpty() && xs.size == ys.size) { "points: expected matching non-empty x and y arrays" }
        var x0 = xs[0]; var x1 = xs[0]; var y0 = ys[0]; var y1 = ys[0]
        for (i in xs.indices) {
            x0 = Math.min(x0, xs[i]); x1 = Math.max(x1, xs[i]); y0 = Math.min(y0, ys[i]); y1 = Math.max(y1, ys[i])
        }
        val left = Math.floor(x0.toDouble()).toInt()
        val top = Math.floor(y0.toDouble()).toInt()
        return Box(left, top, Math.max(Math.ceil(x1.toDouble()).toInt() - left, 1), Math.max(Math.ceil(y1.toDouble()).toInt() - top, 1))
    }

    /**
     * The eye slot from eye, brow and nose-bridge points: their bounds grown by
     * 10% horizontally and 25% vertically about the centre (the reference's
     * W = floor(1.1 w + 1/2), H = floor(1.25 h + 1/2)). Axis-aligned: the
     * reference also levels the slot by the eye-line angle, which this does
     * not, so it matches the reference only for a level head (see README).
     */
    fun eyeSlot(xs: FloatArray, ys: FloatArray): Box {
        val b = bounds(xs, ys)
        val w = Math.floor(1.1 * b.width + 0.5).toInt()
        val h = Math.floor(1.25 * b.height + 0.5).toInt()
        return Box(b.x - (w - b.width) / 2, b.y - (h - b.height) / 2, w, h)
    }

    /** Where the model looks for `source`; `eyeCamera` = the frame itself is the eye region (glasses camera). */
    fun select(source: String, frame: Frame, faceBox: Box?, facePoints: Pair<FloatArray, FloatArray>?,
               eyePoints: Pair<FloatArray, FloatArray>?, eyeCamera: Boolean): Box? = when {
        eyeCamera || source == "full_frame" -> frame.fullBox
        source == "eye_slot" -> eyePoints?.let { eyeSlot(it.first, it.second) }
        source == "landmarks68" -> facePoints?.let { bounds(it.first, it.second) } ?: faceBox
        else -> faceBox
    }
}
