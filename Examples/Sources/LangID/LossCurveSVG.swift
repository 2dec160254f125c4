import Foundation

/// A training loss curve as a small standalone SVG picture: the loss (log scale) against the step,
/// with labelled axes. No dependencies: SVG is text.
public func lossCurveSVG(_ losses: [Float], stepsPerPoint: Int, title: String, width: Int = 640, height: Int = 360) -> String {
    let values = losses.map { Double(Swift.max($0, 1e-6)) }
    let left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
    let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
    let lo = floor(log10(values.min() ?? 1e-3)), hi = ceil(log10(values.max() ?? 1))
    let span = Swift.max(hi - lo, 1)
    func x(_ i: Int) -> Double { left + plotW * (values.count > 1 ? Double(i) / Double(values.count - 1) : 0) }
    func y(_ v: Double) -> Double { top + plotH * (hi - log10(v)) / span }
    var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" font-family="sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(Double(width) / 2)" y="22" text-anchor="middle" font-size="14">\(title)</text>

    """
    for decade in stride(from: lo, through: hi, by: 1) {
        let yy = y(pow(10, decade))
        svg += "<line x1=\"\(left)\" y1=\"\(yy)\" x2=\"\(left + plotW)\" y2=\"\(yy)\" stroke=\"#ddd\"/>"
        svg += "<text x=\"\(left - 8)\" y=\"\(yy + 4)\" text-anchor=\"end\">1e\(Int(decade))</text>\n"
    }
    let totalSteps = values.count * stepsPerPoint
    for k in 0...4 {
        let xx = left + plotW * Double(k) / 4
        svg += "<text x=\"\(xx)\" y=\"\(top + plotH + 18)\" text-anchor=\"middle\">\(totalSteps * k / 4)</text>\n"
    }
    svg += "<text x=\"\(left + plotW / 2)\" y=\"\(Double(height) - 10)\" text-anchor=\"middle\">step</text>\n"
    svg += "<text x=\"16\" y=\"\(top + plotH / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(top + plotH / 2))\">cross-entropy loss</text>\n"
    svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#333\"/>\n"
    let points = values.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element)) }.joined(separator: " ")
    svg += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"\(points)\"/>\n</svg>\n"
    return svg
}
