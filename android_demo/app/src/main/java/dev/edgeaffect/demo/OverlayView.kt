package dev.edgeaffect.demo

import android.content.Context
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.util.AttributeSet
import android.view.View

/** Box, labels with values (bars for probabilities, signed values for regression) and FPS. */
class OverlayView(context: Context, attrs: AttributeSet?) : View(context, attrs) {
    private var result: Result? = null
    private val boxPaint = Paint().apply { style = Paint.Style.STROKE; strokeWidth = 4f; color = Color.GREEN }
    private val textPaint = Paint().apply { color = Color.WHITE; textSize = 40f; setShadowLayer(4f, 0f, 0f, Color.BLACK) }
    private val barPaint = Paint().apply { color = Color.argb(160, 0, 200, 255) }

    fun show(r: Result) {
        result = r
        postInvalidate()
    }

    override fun onDraw(canvas: Canvas) {
        super.onDraw(canvas)
        val r = result ?: return
        // PreviewView's default FILL_CENTER: scale to cover, centred (front camera mirroring aside).
        val scale = Math.max(width.toFloat() / r.frameWidth, height.toFloat() / r.frameHeight)
        val dx = (width - r.frameWidth * scale) / 2
        val dy = (height - r.frameHeight * scale) / 2
        r.box?.let { b ->
            val left = if (r.mirrored) r.frameWidth - (b.x + b.width) else b.x
            canvas.drawRect(dx + left * scale, dy + b.y * scale, dx + (left + b.width) * scale, dy + (b.y + b.height) * scale, boxPaint)
        }
        var y = 60f
        canvas.drawText(String.format("%.1f FPS", r.fps), 20f, y, textPaint)
        y += 50f
        r.message?.let { canvas.drawText(it, 20f, y, textPaint); y += 50f }
        val values = r.values ?: return
        val best = values.indices.maxByOrNull { values[it] } ?: 0
        for (i in values.indices) {
            val v = values[i]
            if (r.kind != "regression") canvas.drawRect(20f, y - 34f, 20f + (width - 40f) * v.toFloat().coerceIn(0f, 1f), y + 6f, barPaint)
            val mark = if (r.kind != "regression" && i == best) "> " else ""
            canvas.drawText(String.format("%s%s %.3f", mark, r.labels[i], v), 20f, y, textPaint)
            y += 50f
        }
    }
}
