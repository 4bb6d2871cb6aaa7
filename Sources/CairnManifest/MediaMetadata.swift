/// What a piece of media is: its media type and, where they apply, its dimensions and timing.
///
/// One value shared by everything that describes media: a pipeline artifact in the store, a provider's output
/// before it is stored, and (as a view of genblaze's asset fields) a manifest ``Asset``. It encodes with genblaze's
/// snake_case keys (`media_type`, `width`, `height`, `duration`, `frame_rate`, `sample_rate`, `channels`), leaving
/// out what is nil.
public struct MediaMetadata: Sendable, Hashable, Codable {
    /// The media type, for example `image/png`.
    public var mediaType: String
    /// Pixel width (images, video).
    public var width: Int?
    /// Pixel height (images, video).
    public var height: Int?
    /// Duration in seconds (audio, video).
    public var duration: Double?
    /// Frames per second (video).
    public var frameRate: Double?
    /// Samples per second (audio).
    public var sampleRate: Int?
    /// Channel count (audio).
    public var channels: Int?

    /// Creates a description.
    public init(
        mediaType: String,
        width: Int? = nil,
        height: Int? = nil,
        duration: Double? = nil,
        frameRate: Double? = nil,
        sampleRate: Int? = nil,
        channels: Int? = nil
    ) {
        self.mediaType = mediaType
        self.width = width
        self.height = height
        self.duration = duration
        self.frameRate = frameRate
        self.sampleRate = sampleRate
        self.channels = channels
    }

    enum CodingKeys: String, CodingKey {
        case width, height, duration, channels
        case mediaType = "media_type"
        case frameRate = "frame_rate"
        case sampleRate = "sample_rate"
    }
}

extension Asset {
    /// The asset's media fields as one value (genblaze keeps frame rate under `video`, sample rate and channels
    /// under `audio`; integers that do not fit `Int` are left out).
    public var media: MediaMetadata {
        MediaMetadata(
            mediaType: mediaType,
            width: width?.int,
            height: height?.int,
            duration: duration,
            frameRate: video?.frameRate,
            sampleRate: audio?.sampleRate?.int,
            channels: audio?.channels?.int
        )
    }
}
