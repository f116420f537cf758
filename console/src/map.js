// The live map: drivers, trips and surge cells drawn on one canvas from the
// feed (no tiles, no network). Drivers are batched into one path per colour, so
// a frame with 10,000 drivers is a handful of fill calls.
export const LOOKS = ['offline', 'available', 'offered', 'en_route', 'on_trip'];
const COLOURS = ['#5b6570', '#3ddc84', '#ffd54f', '#4fa3ff', '#ff5c8a'];
const E5 = 1e-5;

export class LiveMap {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { alpha: false });
    this.bounds = null; // {south, west, north, east}
    this.fleet = null;
    this.pending = false;
    this.frameTimes = []; // ms per draw, for the browser test's measurements
  }

  setRegions(regions) {
    if (!regions || regions.length === 0) return;
    const b = { south: 90, west: 180, north: -90, east: -180 };
    for (const r of regions) {
      b.south = Math.min(b.south, r.south);
      b.west = Math.min(b.west, r.west);
      b.north = Math.max(b.north, r.north);
      b.east = Math.max(b.east, r.east);
    }
    this.bounds = b;
  }

  update(fleet) {
    this.fleet = fleet;
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      const t0 = performance.now();
      this.draw();
      this.frameTimes.push(performance.now() - t0);
      if (this.frameTimes.length > 600) this.frameTimes.shift();
    });
  }

  // The view: the drivers' extent plus a margin (at least ~2 km), else the regions.
  view() {
    const d = this.fleet ? this.fleet.drivers : [];
    if (d.length < 3) return this.bounds || { south: -60, west: -180, north: 75, east: 180 };
    let south = 90, west = 180, north = -90, east = -180;
    for (let i = 0; i + 2 < d.length; i += 3) {
      const lat = d[i] * E5, lng = d[i + 1] * E5;
      if (lat < south) south = lat;
      if (lat > north) north = lat;
      if (lng < west) west = lng;
      if (lng > east) east = lng;
    }
    const padLat = Math.max((north - south) * 0.08, 0.01);
    const padLng = Math.max((east - west) * 0.08, 0.013);
    return { south: south - padLat, west: west - padLng, north: north + padLat, east: east + padLng };
  }

  // Equirectangular, x scaled by cos(mid-latitude) so distances look right.
  projection() {
    const { width, height } = this.canvas;
    const b = this.view();
    const k = Math.cos(((b.south + b.north) / 2) * (Math.PI / 180));
    const spanX = (b.east - b.west) * k;
    const spanY = b.north - b.south;
    const scale = Math.min(width / spanX, height / spanY);
    const ox = (width - spanX * scale) / 2;
    const oy = (height - spanY * scale) / 2;
    return {
      x: (lng) => ox + (lng - b.west) * k * scale,
      y: (lat) => oy + (b.north - lat) * scale,
      scale,
      k,
    };
  }

  draw() {
    const { ctx, canvas, fleet } = this;
    ctx.fillStyle = '#0d1117';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!fleet) return;
    const p = this.projection();
    if (this.bounds) {
      ctx.strokeStyle = '#26303c';
      ctx.strokeRect(p.x(this.bounds.west), p.y(this.bounds.north),
        p.x(this.bounds.east) - p.x(this.bounds.west), p.y(this.bounds.south) - p.y(this.bounds.north));
    }
    // Surge heat: [lat, lng, level, permille] per cell, cells of an equal-angle grid.
    const s = fleet.surge;
    for (let i = 0; i + 3 < s.length; i += 4) {
      const lat = s[i] * E5, lng = s[i + 1] * E5, level = s[i + 2], permille = s[i + 3];
      const dLat = 180 / 2 ** level, dLng = 360 / 2 ** (level + 1);
      const heat = Math.min(1, (permille - 1000) / 1500);
      ctx.fillStyle = `rgba(255, ${Math.round(160 - 120 * heat)}, 0, ${0.15 + 0.45 * heat})`;
      const x0 = p.x(lng - dLng / 2), y0 = p.y(lat + dLat / 2);
      ctx.fillRect(x0, y0, p.x(lng + dLng / 2) - x0, p.y(lat - dLat / 2) - y0);
    }
    // Trips: pickup -> drop-off, [plat, plng, dlat, dlng, state] each.
    const t = fleet.trips;
    ctx.strokeStyle = 'rgba(199, 146, 234, 0.55)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let i = 0; i + 4 < t.length; i += 5) {
      ctx.moveTo(p.x(t[i + 1] * E5), p.y(t[i] * E5));
      ctx.lineTo(p.x(t[i + 3] * E5), p.y(t[i + 2] * E5));
    }
    ctx.stroke();
    // Drivers: [lat, lng, look] each; one path per look.
    const d = fleet.drivers;
    const size = 3;
    for (let look = 0; look < COLOURS.length; ++look) {
      ctx.fillStyle = COLOURS[look];
      ctx.beginPath();
      for (let i = 0; i + 2 < d.length; i += 3) {
        if (d[i + 2] !== look) continue;
        ctx.rect(p.x(d[i + 1] * E5) - 1, p.y(d[i] * E5) - 1, size, size);
      }
      ctx.fill();
    }
  }
}

// Drivers per look in a fleet answer, e.g. {available: 12, on_trip: 3, ...}.
export function countLooks(fleet) {
  const counts = Object.fromEntries(LOOKS.map((l) => [l, 0]));
  const d = fleet.drivers;
  for (let i = 2; i < d.length; i += 3) counts[LOOKS[d[i]]] += 1;
  return counts;
}
