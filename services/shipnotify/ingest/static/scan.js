// Scanning a tracking number with the camera, where the browser has the BarcodeDetector API
// (Chrome on Android, among others); elsewhere the Scan button stays hidden and the courier
// types the number.

export function available() {
  return "BarcodeDetector" in globalThis && Boolean(navigator.mediaDevices?.getUserMedia);
}

// Shows the back camera in `video` until a code is read (resolves with its text) or `signal`
// aborts (resolves with null). The camera is released either way.
export async function scan(video, signal) {
  const detector = new BarcodeDetector(); // every format the platform reads
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment" },
    audio: false,
  });
  try {
    video.srcObject = stream;
    await video.play();
    while (!signal.aborted) {
      const codes = await detector.detect(video);
      const text = codes.map((c) => c.rawValue.trim()).find((v) => v);
      if (text) return text;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return null;
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  }
}
