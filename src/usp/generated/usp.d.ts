import * as $protobuf from "protobufjs";
import Long = require("long");

/** Namespace usp_record. */
export namespace usp_record {

    /**
     * Properties of a Record.
     * @deprecated Use usp_record.Record.$Properties instead.
     */
    interface IRecord extends usp_record.Record.$Properties {
    }

    /** Represents a Record. */
    class Record {

        /**
         * Constructs a new Record.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp_record.Record.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Record version. */
        version: string;

        /** Record toId. */
        toId: string;

        /** Record fromId. */
        fromId: string;

        /** Record payloadSecurity. */
        payloadSecurity: usp_record.Record.PayloadSecurity;

        /** Record macSignature. */
        macSignature: Uint8Array;

        /** Record senderCert. */
        senderCert: Uint8Array;

        /** Record noSessionContext. */
        noSessionContext?: (usp_record.NoSessionContextRecord.$Properties|null);

        /** Record sessionContext. */
        sessionContext?: (usp_record.SessionContextRecord.$Properties|null);

        /** Record websocketConnect. */
        websocketConnect?: (usp_record.WebSocketConnectRecord.$Properties|null);

        /** Record mqttConnect. */
        mqttConnect?: (usp_record.MQTTConnectRecord.$Properties|null);

        /** Record stompConnect. */
        stompConnect?: (usp_record.STOMPConnectRecord.$Properties|null);

        /** Record disconnect. */
        disconnect?: (usp_record.DisconnectRecord.$Properties|null);

        /** Record udsConnect. */
        udsConnect?: (usp_record.UDSConnectRecord.$Properties|null);

        /** Record recordType. */
        recordType?: ("noSessionContext"|"sessionContext"|"websocketConnect"|"mqttConnect"|"stompConnect"|"disconnect"|"udsConnect");

        /**
         * Creates a new Record instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Record instance
         */
        static create(properties: usp_record.Record.$Shape): usp_record.Record & usp_record.Record.$Shape;
        static create(properties?: usp_record.Record.$Properties): usp_record.Record;

        /**
         * Encodes the specified Record message. Does not implicitly {@link usp_record.Record.verify|verify} messages.
         * @param message Record message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp_record.Record.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Record message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp_record.Record & usp_record.Record.$Shape} Record
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp_record.Record & usp_record.Record.$Shape;
    }

    namespace Record {

        /** Properties of a Record. */
        interface $Properties {

            /** Record version */
            version?: (string|null);

            /** Record toId */
            toId?: (string|null);

            /** Record fromId */
            fromId?: (string|null);

            /** Record payloadSecurity */
            payloadSecurity?: (usp_record.Record.PayloadSecurity|null);

            /** Record macSignature */
            macSignature?: (Uint8Array|null);

            /** Record senderCert */
            senderCert?: (Uint8Array|null);

            /** Record noSessionContext */
            noSessionContext?: (usp_record.NoSessionContextRecord.$Properties|null);

            /** Record sessionContext */
            sessionContext?: (usp_record.SessionContextRecord.$Properties|null);

            /** Record websocketConnect */
            websocketConnect?: (usp_record.WebSocketConnectRecord.$Properties|null);

            /** Record mqttConnect */
            mqttConnect?: (usp_record.MQTTConnectRecord.$Properties|null);

            /** Record stompConnect */
            stompConnect?: (usp_record.STOMPConnectRecord.$Properties|null);

            /** Record disconnect */
            disconnect?: (usp_record.DisconnectRecord.$Properties|null);

            /** Record udsConnect */
            udsConnect?: (usp_record.UDSConnectRecord.$Properties|null);

            /** Record recordType */
            recordType?: ("noSessionContext"|"sessionContext"|"websocketConnect"|"mqttConnect"|"stompConnect"|"disconnect"|"udsConnect");

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Narrowed shape of a Record. */
        type $Shape = {
          version?: string|null;
          toId?: string|null;
          fromId?: string|null;
          payloadSecurity?: usp_record.Record.PayloadSecurity|null;
          macSignature?: Uint8Array|null;
          senderCert?: Uint8Array|null;
          noSessionContext?: usp_record.NoSessionContextRecord.$Shape|null;
          sessionContext?: usp_record.SessionContextRecord.$Shape|null;
          websocketConnect?: usp_record.WebSocketConnectRecord.$Shape|null;
          mqttConnect?: usp_record.MQTTConnectRecord.$Shape|null;
          stompConnect?: usp_record.STOMPConnectRecord.$Shape|null;
          disconnect?: usp_record.DisconnectRecord.$Shape|null;
          udsConnect?: usp_record.UDSConnectRecord.$Shape|null;
          $unknowns?: Uint8Array[];
        } & (
          ({ recordType?: undefined; noSessionContext?: null; sessionContext?: null; websocketConnect?: null; mqttConnect?: null; stompConnect?: null; disconnect?: null; udsConnect?: null }|{ recordType?: "noSessionContext"; noSessionContext: usp_record.NoSessionContextRecord.$Shape; sessionContext?: null; websocketConnect?: null; mqttConnect?: null; stompConnect?: null; disconnect?: null; udsConnect?: null }|{ recordType?: "sessionContext"; noSessionContext?: null; sessionContext: usp_record.SessionContextRecord.$Shape; websocketConnect?: null; mqttConnect?: null; stompConnect?: null; disconnect?: null; udsConnect?: null }|{ recordType?: "websocketConnect"; noSessionContext?: null; sessionContext?: null; websocketConnect: usp_record.WebSocketConnectRecord.$Shape; mqttConnect?: null; stompConnect?: null; disconnect?: null; udsConnect?: null }|{ recordType?: "mqttConnect"; noSessionContext?: null; sessionContext?: null; websocketConnect?: null; mqttConnect: usp_record.MQTTConnectRecord.$Shape; stompConnect?: null; disconnect?: null; udsConnect?: null }|{ recordType?: "stompConnect"; noSessionContext?: null; sessionContext?: null; websocketConnect?: null; mqttConnect?: null; stompConnect: usp_record.STOMPConnectRecord.$Shape; disconnect?: null; udsConnect?: null }|{ recordType?: "disconnect"; noSessionContext?: null; sessionContext?: null; websocketConnect?: null; mqttConnect?: null; stompConnect?: null; disconnect: usp_record.DisconnectRecord.$Shape; udsConnect?: null }|{ recordType?: "udsConnect"; noSessionContext?: null; sessionContext?: null; websocketConnect?: null; mqttConnect?: null; stompConnect?: null; disconnect?: null; udsConnect: usp_record.UDSConnectRecord.$Shape })
        );

        /** PayloadSecurity enum. */
        enum PayloadSecurity {

            /** PLAINTEXT value */
            PLAINTEXT = 0,

            /** TLS12 value */
            TLS12 = 1
        }
    }

    /**
     * Properties of a NoSessionContextRecord.
     * @deprecated Use usp_record.NoSessionContextRecord.$Properties instead.
     */
    interface INoSessionContextRecord extends usp_record.NoSessionContextRecord.$Properties {
    }

    /** Represents a NoSessionContextRecord. */
    class NoSessionContextRecord {

        /**
         * Constructs a new NoSessionContextRecord.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp_record.NoSessionContextRecord.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** NoSessionContextRecord payload. */
        payload: Uint8Array;

        /**
         * Creates a new NoSessionContextRecord instance using the specified properties.
         * @param [properties] Properties to set
         * @returns NoSessionContextRecord instance
         */
        static create(properties: usp_record.NoSessionContextRecord.$Shape): usp_record.NoSessionContextRecord & usp_record.NoSessionContextRecord.$Shape;
        static create(properties?: usp_record.NoSessionContextRecord.$Properties): usp_record.NoSessionContextRecord;

        /**
         * Encodes the specified NoSessionContextRecord message. Does not implicitly {@link usp_record.NoSessionContextRecord.verify|verify} messages.
         * @param message NoSessionContextRecord message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp_record.NoSessionContextRecord.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a NoSessionContextRecord message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp_record.NoSessionContextRecord & usp_record.NoSessionContextRecord.$Shape} NoSessionContextRecord
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp_record.NoSessionContextRecord & usp_record.NoSessionContextRecord.$Shape;
    }

    namespace NoSessionContextRecord {

        /** Properties of a NoSessionContextRecord. */
        interface $Properties {

            /** NoSessionContextRecord payload */
            payload?: (Uint8Array|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a NoSessionContextRecord. */
        type $Shape = usp_record.NoSessionContextRecord.$Properties;
    }

    /**
     * Properties of a SessionContextRecord.
     * @deprecated Use usp_record.SessionContextRecord.$Properties instead.
     */
    interface ISessionContextRecord extends usp_record.SessionContextRecord.$Properties {
    }

    /** Represents a SessionContextRecord. */
    class SessionContextRecord {

        /**
         * Constructs a new SessionContextRecord.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp_record.SessionContextRecord.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** SessionContextRecord sessionId. */
        sessionId: (number|Long);

        /** SessionContextRecord sequenceId. */
        sequenceId: (number|Long);

        /** SessionContextRecord expectedId. */
        expectedId: (number|Long);

        /** SessionContextRecord retransmitId. */
        retransmitId: (number|Long);

        /** SessionContextRecord payloadSarState. */
        payloadSarState: usp_record.SessionContextRecord.PayloadSARState;

        /** SessionContextRecord payloadrecSarState. */
        payloadrecSarState: usp_record.SessionContextRecord.PayloadSARState;

        /** SessionContextRecord payload. */
        payload: Uint8Array[];

        /**
         * Creates a new SessionContextRecord instance using the specified properties.
         * @param [properties] Properties to set
         * @returns SessionContextRecord instance
         */
        static create(properties: usp_record.SessionContextRecord.$Shape): usp_record.SessionContextRecord & usp_record.SessionContextRecord.$Shape;
        static create(properties?: usp_record.SessionContextRecord.$Properties): usp_record.SessionContextRecord;

        /**
         * Encodes the specified SessionContextRecord message. Does not implicitly {@link usp_record.SessionContextRecord.verify|verify} messages.
         * @param message SessionContextRecord message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp_record.SessionContextRecord.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a SessionContextRecord message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp_record.SessionContextRecord & usp_record.SessionContextRecord.$Shape} SessionContextRecord
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp_record.SessionContextRecord & usp_record.SessionContextRecord.$Shape;
    }

    namespace SessionContextRecord {

        /** Properties of a SessionContextRecord. */
        interface $Properties {

            /** SessionContextRecord sessionId */
            sessionId?: (number|Long|null);

            /** SessionContextRecord sequenceId */
            sequenceId?: (number|Long|null);

            /** SessionContextRecord expectedId */
            expectedId?: (number|Long|null);

            /** SessionContextRecord retransmitId */
            retransmitId?: (number|Long|null);

            /** SessionContextRecord payloadSarState */
            payloadSarState?: (usp_record.SessionContextRecord.PayloadSARState|null);

            /** SessionContextRecord payloadrecSarState */
            payloadrecSarState?: (usp_record.SessionContextRecord.PayloadSARState|null);

            /** SessionContextRecord payload */
            payload?: (Uint8Array[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a SessionContextRecord. */
        type $Shape = usp_record.SessionContextRecord.$Properties;

        /** PayloadSARState enum. */
        enum PayloadSARState {

            /** NONE value */
            NONE = 0,

            /** BEGIN value */
            BEGIN = 1,

            /** INPROCESS value */
            INPROCESS = 2,

            /** COMPLETE value */
            COMPLETE = 3
        }
    }

    /**
     * Properties of a WebSocketConnectRecord.
     * @deprecated Use usp_record.WebSocketConnectRecord.$Properties instead.
     */
    interface IWebSocketConnectRecord extends usp_record.WebSocketConnectRecord.$Properties {
    }

    /** Represents a WebSocketConnectRecord. */
    class WebSocketConnectRecord {

        /**
         * Constructs a new WebSocketConnectRecord.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp_record.WebSocketConnectRecord.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /**
         * Creates a new WebSocketConnectRecord instance using the specified properties.
         * @param [properties] Properties to set
         * @returns WebSocketConnectRecord instance
         */
        static create(properties: usp_record.WebSocketConnectRecord.$Shape): usp_record.WebSocketConnectRecord & usp_record.WebSocketConnectRecord.$Shape;
        static create(properties?: usp_record.WebSocketConnectRecord.$Properties): usp_record.WebSocketConnectRecord;

        /**
         * Encodes the specified WebSocketConnectRecord message. Does not implicitly {@link usp_record.WebSocketConnectRecord.verify|verify} messages.
         * @param message WebSocketConnectRecord message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp_record.WebSocketConnectRecord.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a WebSocketConnectRecord message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp_record.WebSocketConnectRecord & usp_record.WebSocketConnectRecord.$Shape} WebSocketConnectRecord
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp_record.WebSocketConnectRecord & usp_record.WebSocketConnectRecord.$Shape;
    }

    namespace WebSocketConnectRecord {

        /** Properties of a WebSocketConnectRecord. */
        interface $Properties {

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a WebSocketConnectRecord. */
        type $Shape = usp_record.WebSocketConnectRecord.$Properties;
    }

    /**
     * Properties of a MQTTConnectRecord.
     * @deprecated Use usp_record.MQTTConnectRecord.$Properties instead.
     */
    interface IMQTTConnectRecord extends usp_record.MQTTConnectRecord.$Properties {
    }

    /** Represents a MQTTConnectRecord. */
    class MQTTConnectRecord {

        /**
         * Constructs a new MQTTConnectRecord.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp_record.MQTTConnectRecord.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** MQTTConnectRecord version. */
        version: usp_record.MQTTConnectRecord.MQTTVersion;

        /** MQTTConnectRecord subscribedTopic. */
        subscribedTopic: string;

        /**
         * Creates a new MQTTConnectRecord instance using the specified properties.
         * @param [properties] Properties to set
         * @returns MQTTConnectRecord instance
         */
        static create(properties: usp_record.MQTTConnectRecord.$Shape): usp_record.MQTTConnectRecord & usp_record.MQTTConnectRecord.$Shape;
        static create(properties?: usp_record.MQTTConnectRecord.$Properties): usp_record.MQTTConnectRecord;

        /**
         * Encodes the specified MQTTConnectRecord message. Does not implicitly {@link usp_record.MQTTConnectRecord.verify|verify} messages.
         * @param message MQTTConnectRecord message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp_record.MQTTConnectRecord.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a MQTTConnectRecord message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp_record.MQTTConnectRecord & usp_record.MQTTConnectRecord.$Shape} MQTTConnectRecord
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp_record.MQTTConnectRecord & usp_record.MQTTConnectRecord.$Shape;
    }

    namespace MQTTConnectRecord {

        /** Properties of a MQTTConnectRecord. */
        interface $Properties {

            /** MQTTConnectRecord version */
            version?: (usp_record.MQTTConnectRecord.MQTTVersion|null);

            /** MQTTConnectRecord subscribedTopic */
            subscribedTopic?: (string|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a MQTTConnectRecord. */
        type $Shape = usp_record.MQTTConnectRecord.$Properties;

        /** MQTTVersion enum. */
        enum MQTTVersion {

            /** V3_1_1 value */
            V3_1_1 = 0,

            /** V5 value */
            V5 = 1
        }
    }

    /**
     * Properties of a STOMPConnectRecord.
     * @deprecated Use usp_record.STOMPConnectRecord.$Properties instead.
     */
    interface ISTOMPConnectRecord extends usp_record.STOMPConnectRecord.$Properties {
    }

    /** Represents a STOMPConnectRecord. */
    class STOMPConnectRecord {

        /**
         * Constructs a new STOMPConnectRecord.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp_record.STOMPConnectRecord.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** STOMPConnectRecord version. */
        version: usp_record.STOMPConnectRecord.STOMPVersion;

        /** STOMPConnectRecord subscribedDestination. */
        subscribedDestination: string;

        /**
         * Creates a new STOMPConnectRecord instance using the specified properties.
         * @param [properties] Properties to set
         * @returns STOMPConnectRecord instance
         */
        static create(properties: usp_record.STOMPConnectRecord.$Shape): usp_record.STOMPConnectRecord & usp_record.STOMPConnectRecord.$Shape;
        static create(properties?: usp_record.STOMPConnectRecord.$Properties): usp_record.STOMPConnectRecord;

        /**
         * Encodes the specified STOMPConnectRecord message. Does not implicitly {@link usp_record.STOMPConnectRecord.verify|verify} messages.
         * @param message STOMPConnectRecord message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp_record.STOMPConnectRecord.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a STOMPConnectRecord message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp_record.STOMPConnectRecord & usp_record.STOMPConnectRecord.$Shape} STOMPConnectRecord
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp_record.STOMPConnectRecord & usp_record.STOMPConnectRecord.$Shape;
    }

    namespace STOMPConnectRecord {

        /** Properties of a STOMPConnectRecord. */
        interface $Properties {

            /** STOMPConnectRecord version */
            version?: (usp_record.STOMPConnectRecord.STOMPVersion|null);

            /** STOMPConnectRecord subscribedDestination */
            subscribedDestination?: (string|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a STOMPConnectRecord. */
        type $Shape = usp_record.STOMPConnectRecord.$Properties;

        /** STOMPVersion enum. */
        enum STOMPVersion {

            /** V1_2 value */
            V1_2 = 0
        }
    }

    /**
     * Properties of a DisconnectRecord.
     * @deprecated Use usp_record.DisconnectRecord.$Properties instead.
     */
    interface IDisconnectRecord extends usp_record.DisconnectRecord.$Properties {
    }

    /** Represents a DisconnectRecord. */
    class DisconnectRecord {

        /**
         * Constructs a new DisconnectRecord.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp_record.DisconnectRecord.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** DisconnectRecord reason. */
        reason: string;

        /** DisconnectRecord reasonCode. */
        reasonCode: number;

        /**
         * Creates a new DisconnectRecord instance using the specified properties.
         * @param [properties] Properties to set
         * @returns DisconnectRecord instance
         */
        static create(properties: usp_record.DisconnectRecord.$Shape): usp_record.DisconnectRecord & usp_record.DisconnectRecord.$Shape;
        static create(properties?: usp_record.DisconnectRecord.$Properties): usp_record.DisconnectRecord;

        /**
         * Encodes the specified DisconnectRecord message. Does not implicitly {@link usp_record.DisconnectRecord.verify|verify} messages.
         * @param message DisconnectRecord message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp_record.DisconnectRecord.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a DisconnectRecord message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp_record.DisconnectRecord & usp_record.DisconnectRecord.$Shape} DisconnectRecord
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp_record.DisconnectRecord & usp_record.DisconnectRecord.$Shape;
    }

    namespace DisconnectRecord {

        /** Properties of a DisconnectRecord. */
        interface $Properties {

            /** DisconnectRecord reason */
            reason?: (string|null);

            /** DisconnectRecord reasonCode */
            reasonCode?: (number|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a DisconnectRecord. */
        type $Shape = usp_record.DisconnectRecord.$Properties;
    }

    /**
     * Properties of a UDSConnectRecord.
     * @deprecated Use usp_record.UDSConnectRecord.$Properties instead.
     */
    interface IUDSConnectRecord extends usp_record.UDSConnectRecord.$Properties {
    }

    /** Represents a UDSConnectRecord. */
    class UDSConnectRecord {

        /**
         * Constructs a new UDSConnectRecord.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp_record.UDSConnectRecord.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /**
         * Creates a new UDSConnectRecord instance using the specified properties.
         * @param [properties] Properties to set
         * @returns UDSConnectRecord instance
         */
        static create(properties: usp_record.UDSConnectRecord.$Shape): usp_record.UDSConnectRecord & usp_record.UDSConnectRecord.$Shape;
        static create(properties?: usp_record.UDSConnectRecord.$Properties): usp_record.UDSConnectRecord;

        /**
         * Encodes the specified UDSConnectRecord message. Does not implicitly {@link usp_record.UDSConnectRecord.verify|verify} messages.
         * @param message UDSConnectRecord message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp_record.UDSConnectRecord.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a UDSConnectRecord message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp_record.UDSConnectRecord & usp_record.UDSConnectRecord.$Shape} UDSConnectRecord
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp_record.UDSConnectRecord & usp_record.UDSConnectRecord.$Shape;
    }

    namespace UDSConnectRecord {

        /** Properties of a UDSConnectRecord. */
        interface $Properties {

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a UDSConnectRecord. */
        type $Shape = usp_record.UDSConnectRecord.$Properties;
    }
}

/** Namespace usp. */
export namespace usp {

    /**
     * Properties of a Msg.
     * @deprecated Use usp.Msg.$Properties instead.
     */
    interface IMsg extends usp.Msg.$Properties {
    }

    /** Represents a Msg. */
    class Msg {

        /**
         * Constructs a new Msg.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Msg.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Msg header. */
        header?: (usp.Header.$Properties|null);

        /** Msg body. */
        body?: (usp.Body.$Properties|null);

        /**
         * Creates a new Msg instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Msg instance
         */
        static create(properties: usp.Msg.$Shape): usp.Msg & usp.Msg.$Shape;
        static create(properties?: usp.Msg.$Properties): usp.Msg;

        /**
         * Encodes the specified Msg message. Does not implicitly {@link usp.Msg.verify|verify} messages.
         * @param message Msg message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Msg.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Msg message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Msg & usp.Msg.$Shape} Msg
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Msg & usp.Msg.$Shape;
    }

    namespace Msg {

        /** Properties of a Msg. */
        interface $Properties {

            /** Msg header */
            header?: (usp.Header.$Properties|null);

            /** Msg body */
            body?: (usp.Body.$Properties|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Msg. */
        type $Shape = {
          header?: usp.Header.$Shape|null;
          body?: usp.Body.$Shape|null;
          $unknowns?: Uint8Array[];
        };
    }

    /**
     * Properties of a Header.
     * @deprecated Use usp.Header.$Properties instead.
     */
    interface IHeader extends usp.Header.$Properties {
    }

    /** Represents a Header. */
    class Header {

        /**
         * Constructs a new Header.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Header.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Header msgId. */
        msgId: string;

        /** Header msgType. */
        msgType: usp.Header.MsgType;

        /**
         * Creates a new Header instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Header instance
         */
        static create(properties: usp.Header.$Shape): usp.Header & usp.Header.$Shape;
        static create(properties?: usp.Header.$Properties): usp.Header;

        /**
         * Encodes the specified Header message. Does not implicitly {@link usp.Header.verify|verify} messages.
         * @param message Header message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Header.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Header message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Header & usp.Header.$Shape} Header
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Header & usp.Header.$Shape;
    }

    namespace Header {

        /** Properties of a Header. */
        interface $Properties {

            /** Header msgId */
            msgId?: (string|null);

            /** Header msgType */
            msgType?: (usp.Header.MsgType|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Header. */
        type $Shape = usp.Header.$Properties;

        /** MsgType enum. */
        enum MsgType {

            /** ERROR value */
            ERROR = 0,

            /** GET value */
            GET = 1,

            /** GET_RESP value */
            GET_RESP = 2,

            /** NOTIFY value */
            NOTIFY = 3,

            /** SET value */
            SET = 4,

            /** SET_RESP value */
            SET_RESP = 5,

            /** OPERATE value */
            OPERATE = 6,

            /** OPERATE_RESP value */
            OPERATE_RESP = 7,

            /** ADD value */
            ADD = 8,

            /** ADD_RESP value */
            ADD_RESP = 9,

            /** DELETE value */
            DELETE = 10,

            /** DELETE_RESP value */
            DELETE_RESP = 11,

            /** GET_SUPPORTED_DM value */
            GET_SUPPORTED_DM = 12,

            /** GET_SUPPORTED_DM_RESP value */
            GET_SUPPORTED_DM_RESP = 13,

            /** GET_INSTANCES value */
            GET_INSTANCES = 14,

            /** GET_INSTANCES_RESP value */
            GET_INSTANCES_RESP = 15,

            /** NOTIFY_RESP value */
            NOTIFY_RESP = 16,

            /** GET_SUPPORTED_PROTO value */
            GET_SUPPORTED_PROTO = 17,

            /** GET_SUPPORTED_PROTO_RESP value */
            GET_SUPPORTED_PROTO_RESP = 18,

            /** REGISTER value */
            REGISTER = 19,

            /** REGISTER_RESP value */
            REGISTER_RESP = 20,

            /** DEREGISTER value */
            DEREGISTER = 21,

            /** DEREGISTER_RESP value */
            DEREGISTER_RESP = 22
        }
    }

    /**
     * Properties of a Body.
     * @deprecated Use usp.Body.$Properties instead.
     */
    interface IBody extends usp.Body.$Properties {
    }

    /** Represents a Body. */
    class Body {

        /**
         * Constructs a new Body.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Body.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Body request. */
        request?: (usp.Request.$Properties|null);

        /** Body response. */
        response?: (usp.Response.$Properties|null);

        /** Body error. */
        error?: (usp.Error.$Properties|null);

        /** Body msgBody. */
        msgBody?: ("request"|"response"|"error");

        /**
         * Creates a new Body instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Body instance
         */
        static create(properties: usp.Body.$Shape): usp.Body & usp.Body.$Shape;
        static create(properties?: usp.Body.$Properties): usp.Body;

        /**
         * Encodes the specified Body message. Does not implicitly {@link usp.Body.verify|verify} messages.
         * @param message Body message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Body.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Body message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Body & usp.Body.$Shape} Body
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Body & usp.Body.$Shape;
    }

    namespace Body {

        /** Properties of a Body. */
        interface $Properties {

            /** Body request */
            request?: (usp.Request.$Properties|null);

            /** Body response */
            response?: (usp.Response.$Properties|null);

            /** Body error */
            error?: (usp.Error.$Properties|null);

            /** Body msgBody */
            msgBody?: ("request"|"response"|"error");

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Narrowed shape of a Body. */
        type $Shape = {
          request?: usp.Request.$Shape|null;
          response?: usp.Response.$Shape|null;
          error?: usp.Error.$Shape|null;
          $unknowns?: Uint8Array[];
        } & (
          ({ msgBody?: undefined; request?: null; response?: null; error?: null }|{ msgBody?: "request"; request: usp.Request.$Shape; response?: null; error?: null }|{ msgBody?: "response"; request?: null; response: usp.Response.$Shape; error?: null }|{ msgBody?: "error"; request?: null; response?: null; error: usp.Error.$Shape })
        );
    }

    /**
     * Properties of a Request.
     * @deprecated Use usp.Request.$Properties instead.
     */
    interface IRequest extends usp.Request.$Properties {
    }

    /** Represents a Request. */
    class Request {

        /**
         * Constructs a new Request.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Request.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Request get. */
        get?: (usp.Get.$Properties|null);

        /** Request getSupportedDm. */
        getSupportedDm?: (usp.GetSupportedDM.$Properties|null);

        /** Request getInstances. */
        getInstances?: (usp.GetInstances.$Properties|null);

        /** Request set. */
        set?: (usp.Set.$Properties|null);

        /** Request add. */
        add?: (usp.Add.$Properties|null);

        /** Request delete. */
        delete?: (usp.Delete.$Properties|null);

        /** Request operate. */
        operate?: (usp.Operate.$Properties|null);

        /** Request notify. */
        notify?: (usp.Notify.$Properties|null);

        /** Request getSupportedProtocol. */
        getSupportedProtocol?: (usp.GetSupportedProtocol.$Properties|null);

        /** Request register. */
        register?: (usp.Register.$Properties|null);

        /** Request deregister. */
        deregister?: (usp.Deregister.$Properties|null);

        /** Request reqType. */
        reqType?: ("get"|"getSupportedDm"|"getInstances"|"set"|"add"|"delete"|"operate"|"notify"|"getSupportedProtocol"|"register"|"deregister");

        /**
         * Creates a new Request instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Request instance
         */
        static create(properties: usp.Request.$Shape): usp.Request & usp.Request.$Shape;
        static create(properties?: usp.Request.$Properties): usp.Request;

        /**
         * Encodes the specified Request message. Does not implicitly {@link usp.Request.verify|verify} messages.
         * @param message Request message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Request.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Request message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Request & usp.Request.$Shape} Request
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Request & usp.Request.$Shape;
    }

    namespace Request {

        /** Properties of a Request. */
        interface $Properties {

            /** Request get */
            get?: (usp.Get.$Properties|null);

            /** Request getSupportedDm */
            getSupportedDm?: (usp.GetSupportedDM.$Properties|null);

            /** Request getInstances */
            getInstances?: (usp.GetInstances.$Properties|null);

            /** Request set */
            set?: (usp.Set.$Properties|null);

            /** Request add */
            add?: (usp.Add.$Properties|null);

            /** Request delete */
            "delete"?: (usp.Delete.$Properties|null);

            /** Request operate */
            operate?: (usp.Operate.$Properties|null);

            /** Request notify */
            notify?: (usp.Notify.$Properties|null);

            /** Request getSupportedProtocol */
            getSupportedProtocol?: (usp.GetSupportedProtocol.$Properties|null);

            /** Request register */
            register?: (usp.Register.$Properties|null);

            /** Request deregister */
            deregister?: (usp.Deregister.$Properties|null);

            /** Request reqType */
            reqType?: ("get"|"getSupportedDm"|"getInstances"|"set"|"add"|"delete"|"operate"|"notify"|"getSupportedProtocol"|"register"|"deregister");

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Narrowed shape of a Request. */
        type $Shape = {
          get?: usp.Get.$Shape|null;
          getSupportedDm?: usp.GetSupportedDM.$Shape|null;
          getInstances?: usp.GetInstances.$Shape|null;
          set?: usp.Set.$Shape|null;
          add?: usp.Add.$Shape|null;
          "delete"?: usp.Delete.$Shape|null;
          operate?: usp.Operate.$Shape|null;
          notify?: usp.Notify.$Shape|null;
          getSupportedProtocol?: usp.GetSupportedProtocol.$Shape|null;
          register?: usp.Register.$Shape|null;
          deregister?: usp.Deregister.$Shape|null;
          $unknowns?: Uint8Array[];
        } & (
          ({ reqType?: undefined; get?: null; getSupportedDm?: null; getInstances?: null; set?: null; add?: null; "delete"?: null; operate?: null; notify?: null; getSupportedProtocol?: null; register?: null; deregister?: null }|{ reqType?: "get"; get: usp.Get.$Shape; getSupportedDm?: null; getInstances?: null; set?: null; add?: null; "delete"?: null; operate?: null; notify?: null; getSupportedProtocol?: null; register?: null; deregister?: null }|{ reqType?: "getSupportedDm"; get?: null; getSupportedDm: usp.GetSupportedDM.$Shape; getInstances?: null; set?: null; add?: null; "delete"?: null; operate?: null; notify?: null; getSupportedProtocol?: null; register?: null; deregister?: null }|{ reqType?: "getInstances"; get?: null; getSupportedDm?: null; getInstances: usp.GetInstances.$Shape; set?: null; add?: null; "delete"?: null; operate?: null; notify?: null; getSupportedProtocol?: null; register?: null; deregister?: null }|{ reqType?: "set"; get?: null; getSupportedDm?: null; getInstances?: null; set: usp.Set.$Shape; add?: null; "delete"?: null; operate?: null; notify?: null; getSupportedProtocol?: null; register?: null; deregister?: null }|{ reqType?: "add"; get?: null; getSupportedDm?: null; getInstances?: null; set?: null; add: usp.Add.$Shape; "delete"?: null; operate?: null; notify?: null; getSupportedProtocol?: null; register?: null; deregister?: null }|{ reqType?: "delete"; get?: null; getSupportedDm?: null; getInstances?: null; set?: null; add?: null; "delete": usp.Delete.$Shape; operate?: null; notify?: null; getSupportedProtocol?: null; register?: null; deregister?: null }|{ reqType?: "operate"; get?: null; getSupportedDm?: null; getInstances?: null; set?: null; add?: null; "delete"?: null; operate: usp.Operate.$Shape; notify?: null; getSupportedProtocol?: null; register?: null; deregister?: null }|{ reqType?: "notify"; get?: null; getSupportedDm?: null; getInstances?: null; set?: null; add?: null; "delete"?: null; operate?: null; notify: usp.Notify.$Shape; getSupportedProtocol?: null; register?: null; deregister?: null }|{ reqType?: "getSupportedProtocol"; get?: null; getSupportedDm?: null; getInstances?: null; set?: null; add?: null; "delete"?: null; operate?: null; notify?: null; getSupportedProtocol: usp.GetSupportedProtocol.$Shape; register?: null; deregister?: null }|{ reqType?: "register"; get?: null; getSupportedDm?: null; getInstances?: null; set?: null; add?: null; "delete"?: null; operate?: null; notify?: null; getSupportedProtocol?: null; register: usp.Register.$Shape; deregister?: null }|{ reqType?: "deregister"; get?: null; getSupportedDm?: null; getInstances?: null; set?: null; add?: null; "delete"?: null; operate?: null; notify?: null; getSupportedProtocol?: null; register?: null; deregister: usp.Deregister.$Shape })
        );
    }

    /**
     * Properties of a Response.
     * @deprecated Use usp.Response.$Properties instead.
     */
    interface IResponse extends usp.Response.$Properties {
    }

    /** Represents a Response. */
    class Response {

        /**
         * Constructs a new Response.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Response.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Response getResp. */
        getResp?: (usp.GetResp.$Properties|null);

        /** Response getSupportedDmResp. */
        getSupportedDmResp?: (usp.GetSupportedDMResp.$Properties|null);

        /** Response getInstancesResp. */
        getInstancesResp?: (usp.GetInstancesResp.$Properties|null);

        /** Response setResp. */
        setResp?: (usp.SetResp.$Properties|null);

        /** Response addResp. */
        addResp?: (usp.AddResp.$Properties|null);

        /** Response deleteResp. */
        deleteResp?: (usp.DeleteResp.$Properties|null);

        /** Response operateResp. */
        operateResp?: (usp.OperateResp.$Properties|null);

        /** Response notifyResp. */
        notifyResp?: (usp.NotifyResp.$Properties|null);

        /** Response getSupportedProtocolResp. */
        getSupportedProtocolResp?: (usp.GetSupportedProtocolResp.$Properties|null);

        /** Response registerResp. */
        registerResp?: (usp.RegisterResp.$Properties|null);

        /** Response deregisterResp. */
        deregisterResp?: (usp.DeregisterResp.$Properties|null);

        /** Response respType. */
        respType?: ("getResp"|"getSupportedDmResp"|"getInstancesResp"|"setResp"|"addResp"|"deleteResp"|"operateResp"|"notifyResp"|"getSupportedProtocolResp"|"registerResp"|"deregisterResp");

        /**
         * Creates a new Response instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Response instance
         */
        static create(properties: usp.Response.$Shape): usp.Response & usp.Response.$Shape;
        static create(properties?: usp.Response.$Properties): usp.Response;

        /**
         * Encodes the specified Response message. Does not implicitly {@link usp.Response.verify|verify} messages.
         * @param message Response message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Response.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Response message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Response & usp.Response.$Shape} Response
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Response & usp.Response.$Shape;
    }

    namespace Response {

        /** Properties of a Response. */
        interface $Properties {

            /** Response getResp */
            getResp?: (usp.GetResp.$Properties|null);

            /** Response getSupportedDmResp */
            getSupportedDmResp?: (usp.GetSupportedDMResp.$Properties|null);

            /** Response getInstancesResp */
            getInstancesResp?: (usp.GetInstancesResp.$Properties|null);

            /** Response setResp */
            setResp?: (usp.SetResp.$Properties|null);

            /** Response addResp */
            addResp?: (usp.AddResp.$Properties|null);

            /** Response deleteResp */
            deleteResp?: (usp.DeleteResp.$Properties|null);

            /** Response operateResp */
            operateResp?: (usp.OperateResp.$Properties|null);

            /** Response notifyResp */
            notifyResp?: (usp.NotifyResp.$Properties|null);

            /** Response getSupportedProtocolResp */
            getSupportedProtocolResp?: (usp.GetSupportedProtocolResp.$Properties|null);

            /** Response registerResp */
            registerResp?: (usp.RegisterResp.$Properties|null);

            /** Response deregisterResp */
            deregisterResp?: (usp.DeregisterResp.$Properties|null);

            /** Response respType */
            respType?: ("getResp"|"getSupportedDmResp"|"getInstancesResp"|"setResp"|"addResp"|"deleteResp"|"operateResp"|"notifyResp"|"getSupportedProtocolResp"|"registerResp"|"deregisterResp");

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Narrowed shape of a Response. */
        type $Shape = {
          getResp?: usp.GetResp.$Shape|null;
          getSupportedDmResp?: usp.GetSupportedDMResp.$Shape|null;
          getInstancesResp?: usp.GetInstancesResp.$Shape|null;
          setResp?: usp.SetResp.$Shape|null;
          addResp?: usp.AddResp.$Shape|null;
          deleteResp?: usp.DeleteResp.$Shape|null;
          operateResp?: usp.OperateResp.$Shape|null;
          notifyResp?: usp.NotifyResp.$Shape|null;
          getSupportedProtocolResp?: usp.GetSupportedProtocolResp.$Shape|null;
          registerResp?: usp.RegisterResp.$Shape|null;
          deregisterResp?: usp.DeregisterResp.$Shape|null;
          $unknowns?: Uint8Array[];
        } & (
          ({ respType?: undefined; getResp?: null; getSupportedDmResp?: null; getInstancesResp?: null; setResp?: null; addResp?: null; deleteResp?: null; operateResp?: null; notifyResp?: null; getSupportedProtocolResp?: null; registerResp?: null; deregisterResp?: null }|{ respType?: "getResp"; getResp: usp.GetResp.$Shape; getSupportedDmResp?: null; getInstancesResp?: null; setResp?: null; addResp?: null; deleteResp?: null; operateResp?: null; notifyResp?: null; getSupportedProtocolResp?: null; registerResp?: null; deregisterResp?: null }|{ respType?: "getSupportedDmResp"; getResp?: null; getSupportedDmResp: usp.GetSupportedDMResp.$Shape; getInstancesResp?: null; setResp?: null; addResp?: null; deleteResp?: null; operateResp?: null; notifyResp?: null; getSupportedProtocolResp?: null; registerResp?: null; deregisterResp?: null }|{ respType?: "getInstancesResp"; getResp?: null; getSupportedDmResp?: null; getInstancesResp: usp.GetInstancesResp.$Shape; setResp?: null; addResp?: null; deleteResp?: null; operateResp?: null; notifyResp?: null; getSupportedProtocolResp?: null; registerResp?: null; deregisterResp?: null }|{ respType?: "setResp"; getResp?: null; getSupportedDmResp?: null; getInstancesResp?: null; setResp: usp.SetResp.$Shape; addResp?: null; deleteResp?: null; operateResp?: null; notifyResp?: null; getSupportedProtocolResp?: null; registerResp?: null; deregisterResp?: null }|{ respType?: "addResp"; getResp?: null; getSupportedDmResp?: null; getInstancesResp?: null; setResp?: null; addResp: usp.AddResp.$Shape; deleteResp?: null; operateResp?: null; notifyResp?: null; getSupportedProtocolResp?: null; registerResp?: null; deregisterResp?: null }|{ respType?: "deleteResp"; getResp?: null; getSupportedDmResp?: null; getInstancesResp?: null; setResp?: null; addResp?: null; deleteResp: usp.DeleteResp.$Shape; operateResp?: null; notifyResp?: null; getSupportedProtocolResp?: null; registerResp?: null; deregisterResp?: null }|{ respType?: "operateResp"; getResp?: null; getSupportedDmResp?: null; getInstancesResp?: null; setResp?: null; addResp?: null; deleteResp?: null; operateResp: usp.OperateResp.$Shape; notifyResp?: null; getSupportedProtocolResp?: null; registerResp?: null; deregisterResp?: null }|{ respType?: "notifyResp"; getResp?: null; getSupportedDmResp?: null; getInstancesResp?: null; setResp?: null; addResp?: null; deleteResp?: null; operateResp?: null; notifyResp: usp.NotifyResp.$Shape; getSupportedProtocolResp?: null; registerResp?: null; deregisterResp?: null }|{ respType?: "getSupportedProtocolResp"; getResp?: null; getSupportedDmResp?: null; getInstancesResp?: null; setResp?: null; addResp?: null; deleteResp?: null; operateResp?: null; notifyResp?: null; getSupportedProtocolResp: usp.GetSupportedProtocolResp.$Shape; registerResp?: null; deregisterResp?: null }|{ respType?: "registerResp"; getResp?: null; getSupportedDmResp?: null; getInstancesResp?: null; setResp?: null; addResp?: null; deleteResp?: null; operateResp?: null; notifyResp?: null; getSupportedProtocolResp?: null; registerResp: usp.RegisterResp.$Shape; deregisterResp?: null }|{ respType?: "deregisterResp"; getResp?: null; getSupportedDmResp?: null; getInstancesResp?: null; setResp?: null; addResp?: null; deleteResp?: null; operateResp?: null; notifyResp?: null; getSupportedProtocolResp?: null; registerResp?: null; deregisterResp: usp.DeregisterResp.$Shape })
        );
    }

    /**
     * Properties of an Error.
     * @deprecated Use usp.Error.$Properties instead.
     */
    interface IError extends usp.Error.$Properties {
    }

    /** Represents an Error. */
    class Error {

        /**
         * Constructs a new Error.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Error.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Error errCode. */
        errCode: number;

        /** Error errMsg. */
        errMsg: string;

        /** Error paramErrs. */
        paramErrs: usp.Error.ParamError.$Properties[];

        /**
         * Creates a new Error instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Error instance
         */
        static create(properties: usp.Error.$Shape): usp.Error & usp.Error.$Shape;
        static create(properties?: usp.Error.$Properties): usp.Error;

        /**
         * Encodes the specified Error message. Does not implicitly {@link usp.Error.verify|verify} messages.
         * @param message Error message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Error.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes an Error message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Error & usp.Error.$Shape} Error
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Error & usp.Error.$Shape;
    }

    namespace Error {

        /** Properties of an Error. */
        interface $Properties {

            /** Error errCode */
            errCode?: (number|null);

            /** Error errMsg */
            errMsg?: (string|null);

            /** Error paramErrs */
            paramErrs?: (usp.Error.ParamError.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of an Error. */
        type $Shape = usp.Error.$Properties;

        /**
         * Properties of a ParamError.
         * @deprecated Use usp.Error.ParamError.$Properties instead.
         */
        interface IParamError extends usp.Error.ParamError.$Properties {
        }

        /** Represents a ParamError. */
        class ParamError {

            /**
             * Constructs a new ParamError.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Error.ParamError.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ParamError paramPath. */
            paramPath: string;

            /** ParamError errCode. */
            errCode: number;

            /** ParamError errMsg. */
            errMsg: string;

            /**
             * Creates a new ParamError instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ParamError instance
             */
            static create(properties: usp.Error.ParamError.$Shape): usp.Error.ParamError & usp.Error.ParamError.$Shape;
            static create(properties?: usp.Error.ParamError.$Properties): usp.Error.ParamError;

            /**
             * Encodes the specified ParamError message. Does not implicitly {@link usp.Error.ParamError.verify|verify} messages.
             * @param message ParamError message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Error.ParamError.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ParamError message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Error.ParamError & usp.Error.ParamError.$Shape} ParamError
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Error.ParamError & usp.Error.ParamError.$Shape;
        }

        namespace ParamError {

            /** Properties of a ParamError. */
            interface $Properties {

                /** ParamError paramPath */
                paramPath?: (string|null);

                /** ParamError errCode */
                errCode?: (number|null);

                /** ParamError errMsg */
                errMsg?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ParamError. */
            type $Shape = usp.Error.ParamError.$Properties;
        }
    }

    /**
     * Properties of a Get.
     * @deprecated Use usp.Get.$Properties instead.
     */
    interface IGet extends usp.Get.$Properties {
    }

    /** Represents a Get. */
    class Get {

        /**
         * Constructs a new Get.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Get.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Get paramPaths. */
        paramPaths: string[];

        /** Get maxDepth. */
        maxDepth: number;

        /**
         * Creates a new Get instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Get instance
         */
        static create(properties: usp.Get.$Shape): usp.Get & usp.Get.$Shape;
        static create(properties?: usp.Get.$Properties): usp.Get;

        /**
         * Encodes the specified Get message. Does not implicitly {@link usp.Get.verify|verify} messages.
         * @param message Get message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Get.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Get message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Get & usp.Get.$Shape} Get
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Get & usp.Get.$Shape;
    }

    namespace Get {

        /** Properties of a Get. */
        interface $Properties {

            /** Get paramPaths */
            paramPaths?: (string[]|null);

            /** Get maxDepth */
            maxDepth?: (number|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Get. */
        type $Shape = usp.Get.$Properties;
    }

    /**
     * Properties of a GetResp.
     * @deprecated Use usp.GetResp.$Properties instead.
     */
    interface IGetResp extends usp.GetResp.$Properties {
    }

    /** Represents a GetResp. */
    class GetResp {

        /**
         * Constructs a new GetResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.GetResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** GetResp reqPathResults. */
        reqPathResults: usp.GetResp.RequestedPathResult.$Properties[];

        /**
         * Creates a new GetResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns GetResp instance
         */
        static create(properties: usp.GetResp.$Shape): usp.GetResp & usp.GetResp.$Shape;
        static create(properties?: usp.GetResp.$Properties): usp.GetResp;

        /**
         * Encodes the specified GetResp message. Does not implicitly {@link usp.GetResp.verify|verify} messages.
         * @param message GetResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.GetResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a GetResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.GetResp & usp.GetResp.$Shape} GetResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetResp & usp.GetResp.$Shape;
    }

    namespace GetResp {

        /** Properties of a GetResp. */
        interface $Properties {

            /** GetResp reqPathResults */
            reqPathResults?: (usp.GetResp.RequestedPathResult.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a GetResp. */
        type $Shape = usp.GetResp.$Properties;

        /**
         * Properties of a RequestedPathResult.
         * @deprecated Use usp.GetResp.RequestedPathResult.$Properties instead.
         */
        interface IRequestedPathResult extends usp.GetResp.RequestedPathResult.$Properties {
        }

        /** Represents a RequestedPathResult. */
        class RequestedPathResult {

            /**
             * Constructs a new RequestedPathResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.GetResp.RequestedPathResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** RequestedPathResult requestedPath. */
            requestedPath: string;

            /** RequestedPathResult errCode. */
            errCode: number;

            /** RequestedPathResult errMsg. */
            errMsg: string;

            /** RequestedPathResult resolvedPathResults. */
            resolvedPathResults: usp.GetResp.ResolvedPathResult.$Properties[];

            /**
             * Creates a new RequestedPathResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns RequestedPathResult instance
             */
            static create(properties: usp.GetResp.RequestedPathResult.$Shape): usp.GetResp.RequestedPathResult & usp.GetResp.RequestedPathResult.$Shape;
            static create(properties?: usp.GetResp.RequestedPathResult.$Properties): usp.GetResp.RequestedPathResult;

            /**
             * Encodes the specified RequestedPathResult message. Does not implicitly {@link usp.GetResp.RequestedPathResult.verify|verify} messages.
             * @param message RequestedPathResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.GetResp.RequestedPathResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a RequestedPathResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.GetResp.RequestedPathResult & usp.GetResp.RequestedPathResult.$Shape} RequestedPathResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetResp.RequestedPathResult & usp.GetResp.RequestedPathResult.$Shape;
        }

        namespace RequestedPathResult {

            /** Properties of a RequestedPathResult. */
            interface $Properties {

                /** RequestedPathResult requestedPath */
                requestedPath?: (string|null);

                /** RequestedPathResult errCode */
                errCode?: (number|null);

                /** RequestedPathResult errMsg */
                errMsg?: (string|null);

                /** RequestedPathResult resolvedPathResults */
                resolvedPathResults?: (usp.GetResp.ResolvedPathResult.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a RequestedPathResult. */
            type $Shape = usp.GetResp.RequestedPathResult.$Properties;
        }

        /**
         * Properties of a ResolvedPathResult.
         * @deprecated Use usp.GetResp.ResolvedPathResult.$Properties instead.
         */
        interface IResolvedPathResult extends usp.GetResp.ResolvedPathResult.$Properties {
        }

        /** Represents a ResolvedPathResult. */
        class ResolvedPathResult {

            /**
             * Constructs a new ResolvedPathResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.GetResp.ResolvedPathResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ResolvedPathResult resolvedPath. */
            resolvedPath: string;

            /** ResolvedPathResult resultParams. */
            resultParams: { [k: string]: string };

            /**
             * Creates a new ResolvedPathResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ResolvedPathResult instance
             */
            static create(properties: usp.GetResp.ResolvedPathResult.$Shape): usp.GetResp.ResolvedPathResult & usp.GetResp.ResolvedPathResult.$Shape;
            static create(properties?: usp.GetResp.ResolvedPathResult.$Properties): usp.GetResp.ResolvedPathResult;

            /**
             * Encodes the specified ResolvedPathResult message. Does not implicitly {@link usp.GetResp.ResolvedPathResult.verify|verify} messages.
             * @param message ResolvedPathResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.GetResp.ResolvedPathResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ResolvedPathResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.GetResp.ResolvedPathResult & usp.GetResp.ResolvedPathResult.$Shape} ResolvedPathResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetResp.ResolvedPathResult & usp.GetResp.ResolvedPathResult.$Shape;
        }

        namespace ResolvedPathResult {

            /** Properties of a ResolvedPathResult. */
            interface $Properties {

                /** ResolvedPathResult resolvedPath */
                resolvedPath?: (string|null);

                /** ResolvedPathResult resultParams */
                resultParams?: ({ [k: string]: string }|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ResolvedPathResult. */
            type $Shape = usp.GetResp.ResolvedPathResult.$Properties;
        }
    }

    /**
     * Properties of a GetSupportedDM.
     * @deprecated Use usp.GetSupportedDM.$Properties instead.
     */
    interface IGetSupportedDM extends usp.GetSupportedDM.$Properties {
    }

    /** Represents a GetSupportedDM. */
    class GetSupportedDM {

        /**
         * Constructs a new GetSupportedDM.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.GetSupportedDM.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** GetSupportedDM objPaths. */
        objPaths: string[];

        /** GetSupportedDM firstLevelOnly. */
        firstLevelOnly: boolean;

        /** GetSupportedDM returnCommands. */
        returnCommands: boolean;

        /** GetSupportedDM returnEvents. */
        returnEvents: boolean;

        /** GetSupportedDM returnParams. */
        returnParams: boolean;

        /** GetSupportedDM returnUniqueKeySets. */
        returnUniqueKeySets: boolean;

        /**
         * Creates a new GetSupportedDM instance using the specified properties.
         * @param [properties] Properties to set
         * @returns GetSupportedDM instance
         */
        static create(properties: usp.GetSupportedDM.$Shape): usp.GetSupportedDM & usp.GetSupportedDM.$Shape;
        static create(properties?: usp.GetSupportedDM.$Properties): usp.GetSupportedDM;

        /**
         * Encodes the specified GetSupportedDM message. Does not implicitly {@link usp.GetSupportedDM.verify|verify} messages.
         * @param message GetSupportedDM message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.GetSupportedDM.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a GetSupportedDM message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.GetSupportedDM & usp.GetSupportedDM.$Shape} GetSupportedDM
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetSupportedDM & usp.GetSupportedDM.$Shape;
    }

    namespace GetSupportedDM {

        /** Properties of a GetSupportedDM. */
        interface $Properties {

            /** GetSupportedDM objPaths */
            objPaths?: (string[]|null);

            /** GetSupportedDM firstLevelOnly */
            firstLevelOnly?: (boolean|null);

            /** GetSupportedDM returnCommands */
            returnCommands?: (boolean|null);

            /** GetSupportedDM returnEvents */
            returnEvents?: (boolean|null);

            /** GetSupportedDM returnParams */
            returnParams?: (boolean|null);

            /** GetSupportedDM returnUniqueKeySets */
            returnUniqueKeySets?: (boolean|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a GetSupportedDM. */
        type $Shape = usp.GetSupportedDM.$Properties;
    }

    /**
     * Properties of a GetSupportedDMResp.
     * @deprecated Use usp.GetSupportedDMResp.$Properties instead.
     */
    interface IGetSupportedDMResp extends usp.GetSupportedDMResp.$Properties {
    }

    /** Represents a GetSupportedDMResp. */
    class GetSupportedDMResp {

        /**
         * Constructs a new GetSupportedDMResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.GetSupportedDMResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** GetSupportedDMResp reqObjResults. */
        reqObjResults: usp.GetSupportedDMResp.RequestedObjectResult.$Properties[];

        /**
         * Creates a new GetSupportedDMResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns GetSupportedDMResp instance
         */
        static create(properties: usp.GetSupportedDMResp.$Shape): usp.GetSupportedDMResp & usp.GetSupportedDMResp.$Shape;
        static create(properties?: usp.GetSupportedDMResp.$Properties): usp.GetSupportedDMResp;

        /**
         * Encodes the specified GetSupportedDMResp message. Does not implicitly {@link usp.GetSupportedDMResp.verify|verify} messages.
         * @param message GetSupportedDMResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.GetSupportedDMResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a GetSupportedDMResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.GetSupportedDMResp & usp.GetSupportedDMResp.$Shape} GetSupportedDMResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetSupportedDMResp & usp.GetSupportedDMResp.$Shape;
    }

    namespace GetSupportedDMResp {

        /** Properties of a GetSupportedDMResp. */
        interface $Properties {

            /** GetSupportedDMResp reqObjResults */
            reqObjResults?: (usp.GetSupportedDMResp.RequestedObjectResult.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a GetSupportedDMResp. */
        type $Shape = usp.GetSupportedDMResp.$Properties;

        /**
         * Properties of a RequestedObjectResult.
         * @deprecated Use usp.GetSupportedDMResp.RequestedObjectResult.$Properties instead.
         */
        interface IRequestedObjectResult extends usp.GetSupportedDMResp.RequestedObjectResult.$Properties {
        }

        /** Represents a RequestedObjectResult. */
        class RequestedObjectResult {

            /**
             * Constructs a new RequestedObjectResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.GetSupportedDMResp.RequestedObjectResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** RequestedObjectResult reqObjPath. */
            reqObjPath: string;

            /** RequestedObjectResult errCode. */
            errCode: number;

            /** RequestedObjectResult errMsg. */
            errMsg: string;

            /** RequestedObjectResult dataModelInstUri. */
            dataModelInstUri: string;

            /** RequestedObjectResult supportedObjs. */
            supportedObjs: usp.GetSupportedDMResp.SupportedObjectResult.$Properties[];

            /**
             * Creates a new RequestedObjectResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns RequestedObjectResult instance
             */
            static create(properties: usp.GetSupportedDMResp.RequestedObjectResult.$Shape): usp.GetSupportedDMResp.RequestedObjectResult & usp.GetSupportedDMResp.RequestedObjectResult.$Shape;
            static create(properties?: usp.GetSupportedDMResp.RequestedObjectResult.$Properties): usp.GetSupportedDMResp.RequestedObjectResult;

            /**
             * Encodes the specified RequestedObjectResult message. Does not implicitly {@link usp.GetSupportedDMResp.RequestedObjectResult.verify|verify} messages.
             * @param message RequestedObjectResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.GetSupportedDMResp.RequestedObjectResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a RequestedObjectResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.GetSupportedDMResp.RequestedObjectResult & usp.GetSupportedDMResp.RequestedObjectResult.$Shape} RequestedObjectResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetSupportedDMResp.RequestedObjectResult & usp.GetSupportedDMResp.RequestedObjectResult.$Shape;
        }

        namespace RequestedObjectResult {

            /** Properties of a RequestedObjectResult. */
            interface $Properties {

                /** RequestedObjectResult reqObjPath */
                reqObjPath?: (string|null);

                /** RequestedObjectResult errCode */
                errCode?: (number|null);

                /** RequestedObjectResult errMsg */
                errMsg?: (string|null);

                /** RequestedObjectResult dataModelInstUri */
                dataModelInstUri?: (string|null);

                /** RequestedObjectResult supportedObjs */
                supportedObjs?: (usp.GetSupportedDMResp.SupportedObjectResult.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a RequestedObjectResult. */
            type $Shape = usp.GetSupportedDMResp.RequestedObjectResult.$Properties;
        }

        /**
         * Properties of a SupportedObjectResult.
         * @deprecated Use usp.GetSupportedDMResp.SupportedObjectResult.$Properties instead.
         */
        interface ISupportedObjectResult extends usp.GetSupportedDMResp.SupportedObjectResult.$Properties {
        }

        /** Represents a SupportedObjectResult. */
        class SupportedObjectResult {

            /**
             * Constructs a new SupportedObjectResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.GetSupportedDMResp.SupportedObjectResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** SupportedObjectResult supportedObjPath. */
            supportedObjPath: string;

            /** SupportedObjectResult access. */
            access: usp.GetSupportedDMResp.ObjAccessType;

            /** SupportedObjectResult isMultiInstance. */
            isMultiInstance: boolean;

            /** SupportedObjectResult supportedCommands. */
            supportedCommands: usp.GetSupportedDMResp.SupportedCommandResult.$Properties[];

            /** SupportedObjectResult supportedEvents. */
            supportedEvents: usp.GetSupportedDMResp.SupportedEventResult.$Properties[];

            /** SupportedObjectResult supportedParams. */
            supportedParams: usp.GetSupportedDMResp.SupportedParamResult.$Properties[];

            /** SupportedObjectResult divergentPaths. */
            divergentPaths: string[];

            /** SupportedObjectResult uniqueKeySets. */
            uniqueKeySets: usp.GetSupportedDMResp.SupportedUniqueKeySet.$Properties[];

            /**
             * Creates a new SupportedObjectResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns SupportedObjectResult instance
             */
            static create(properties: usp.GetSupportedDMResp.SupportedObjectResult.$Shape): usp.GetSupportedDMResp.SupportedObjectResult & usp.GetSupportedDMResp.SupportedObjectResult.$Shape;
            static create(properties?: usp.GetSupportedDMResp.SupportedObjectResult.$Properties): usp.GetSupportedDMResp.SupportedObjectResult;

            /**
             * Encodes the specified SupportedObjectResult message. Does not implicitly {@link usp.GetSupportedDMResp.SupportedObjectResult.verify|verify} messages.
             * @param message SupportedObjectResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.GetSupportedDMResp.SupportedObjectResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a SupportedObjectResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.GetSupportedDMResp.SupportedObjectResult & usp.GetSupportedDMResp.SupportedObjectResult.$Shape} SupportedObjectResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetSupportedDMResp.SupportedObjectResult & usp.GetSupportedDMResp.SupportedObjectResult.$Shape;
        }

        namespace SupportedObjectResult {

            /** Properties of a SupportedObjectResult. */
            interface $Properties {

                /** SupportedObjectResult supportedObjPath */
                supportedObjPath?: (string|null);

                /** SupportedObjectResult access */
                access?: (usp.GetSupportedDMResp.ObjAccessType|null);

                /** SupportedObjectResult isMultiInstance */
                isMultiInstance?: (boolean|null);

                /** SupportedObjectResult supportedCommands */
                supportedCommands?: (usp.GetSupportedDMResp.SupportedCommandResult.$Properties[]|null);

                /** SupportedObjectResult supportedEvents */
                supportedEvents?: (usp.GetSupportedDMResp.SupportedEventResult.$Properties[]|null);

                /** SupportedObjectResult supportedParams */
                supportedParams?: (usp.GetSupportedDMResp.SupportedParamResult.$Properties[]|null);

                /** SupportedObjectResult divergentPaths */
                divergentPaths?: (string[]|null);

                /** SupportedObjectResult uniqueKeySets */
                uniqueKeySets?: (usp.GetSupportedDMResp.SupportedUniqueKeySet.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a SupportedObjectResult. */
            type $Shape = usp.GetSupportedDMResp.SupportedObjectResult.$Properties;
        }

        /**
         * Properties of a SupportedParamResult.
         * @deprecated Use usp.GetSupportedDMResp.SupportedParamResult.$Properties instead.
         */
        interface ISupportedParamResult extends usp.GetSupportedDMResp.SupportedParamResult.$Properties {
        }

        /** Represents a SupportedParamResult. */
        class SupportedParamResult {

            /**
             * Constructs a new SupportedParamResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.GetSupportedDMResp.SupportedParamResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** SupportedParamResult paramName. */
            paramName: string;

            /** SupportedParamResult access. */
            access: usp.GetSupportedDMResp.ParamAccessType;

            /** SupportedParamResult valueType. */
            valueType: usp.GetSupportedDMResp.ParamValueType;

            /** SupportedParamResult valueChange. */
            valueChange: usp.GetSupportedDMResp.ValueChangeType;

            /**
             * Creates a new SupportedParamResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns SupportedParamResult instance
             */
            static create(properties: usp.GetSupportedDMResp.SupportedParamResult.$Shape): usp.GetSupportedDMResp.SupportedParamResult & usp.GetSupportedDMResp.SupportedParamResult.$Shape;
            static create(properties?: usp.GetSupportedDMResp.SupportedParamResult.$Properties): usp.GetSupportedDMResp.SupportedParamResult;

            /**
             * Encodes the specified SupportedParamResult message. Does not implicitly {@link usp.GetSupportedDMResp.SupportedParamResult.verify|verify} messages.
             * @param message SupportedParamResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.GetSupportedDMResp.SupportedParamResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a SupportedParamResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.GetSupportedDMResp.SupportedParamResult & usp.GetSupportedDMResp.SupportedParamResult.$Shape} SupportedParamResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetSupportedDMResp.SupportedParamResult & usp.GetSupportedDMResp.SupportedParamResult.$Shape;
        }

        namespace SupportedParamResult {

            /** Properties of a SupportedParamResult. */
            interface $Properties {

                /** SupportedParamResult paramName */
                paramName?: (string|null);

                /** SupportedParamResult access */
                access?: (usp.GetSupportedDMResp.ParamAccessType|null);

                /** SupportedParamResult valueType */
                valueType?: (usp.GetSupportedDMResp.ParamValueType|null);

                /** SupportedParamResult valueChange */
                valueChange?: (usp.GetSupportedDMResp.ValueChangeType|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a SupportedParamResult. */
            type $Shape = usp.GetSupportedDMResp.SupportedParamResult.$Properties;
        }

        /**
         * Properties of a SupportedCommandResult.
         * @deprecated Use usp.GetSupportedDMResp.SupportedCommandResult.$Properties instead.
         */
        interface ISupportedCommandResult extends usp.GetSupportedDMResp.SupportedCommandResult.$Properties {
        }

        /** Represents a SupportedCommandResult. */
        class SupportedCommandResult {

            /**
             * Constructs a new SupportedCommandResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.GetSupportedDMResp.SupportedCommandResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** SupportedCommandResult commandName. */
            commandName: string;

            /** SupportedCommandResult inputArgNames. */
            inputArgNames: string[];

            /** SupportedCommandResult outputArgNames. */
            outputArgNames: string[];

            /** SupportedCommandResult commandType. */
            commandType: usp.GetSupportedDMResp.CmdType;

            /**
             * Creates a new SupportedCommandResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns SupportedCommandResult instance
             */
            static create(properties: usp.GetSupportedDMResp.SupportedCommandResult.$Shape): usp.GetSupportedDMResp.SupportedCommandResult & usp.GetSupportedDMResp.SupportedCommandResult.$Shape;
            static create(properties?: usp.GetSupportedDMResp.SupportedCommandResult.$Properties): usp.GetSupportedDMResp.SupportedCommandResult;

            /**
             * Encodes the specified SupportedCommandResult message. Does not implicitly {@link usp.GetSupportedDMResp.SupportedCommandResult.verify|verify} messages.
             * @param message SupportedCommandResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.GetSupportedDMResp.SupportedCommandResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a SupportedCommandResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.GetSupportedDMResp.SupportedCommandResult & usp.GetSupportedDMResp.SupportedCommandResult.$Shape} SupportedCommandResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetSupportedDMResp.SupportedCommandResult & usp.GetSupportedDMResp.SupportedCommandResult.$Shape;
        }

        namespace SupportedCommandResult {

            /** Properties of a SupportedCommandResult. */
            interface $Properties {

                /** SupportedCommandResult commandName */
                commandName?: (string|null);

                /** SupportedCommandResult inputArgNames */
                inputArgNames?: (string[]|null);

                /** SupportedCommandResult outputArgNames */
                outputArgNames?: (string[]|null);

                /** SupportedCommandResult commandType */
                commandType?: (usp.GetSupportedDMResp.CmdType|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a SupportedCommandResult. */
            type $Shape = usp.GetSupportedDMResp.SupportedCommandResult.$Properties;
        }

        /**
         * Properties of a SupportedEventResult.
         * @deprecated Use usp.GetSupportedDMResp.SupportedEventResult.$Properties instead.
         */
        interface ISupportedEventResult extends usp.GetSupportedDMResp.SupportedEventResult.$Properties {
        }

        /** Represents a SupportedEventResult. */
        class SupportedEventResult {

            /**
             * Constructs a new SupportedEventResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.GetSupportedDMResp.SupportedEventResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** SupportedEventResult eventName. */
            eventName: string;

            /** SupportedEventResult argNames. */
            argNames: string[];

            /**
             * Creates a new SupportedEventResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns SupportedEventResult instance
             */
            static create(properties: usp.GetSupportedDMResp.SupportedEventResult.$Shape): usp.GetSupportedDMResp.SupportedEventResult & usp.GetSupportedDMResp.SupportedEventResult.$Shape;
            static create(properties?: usp.GetSupportedDMResp.SupportedEventResult.$Properties): usp.GetSupportedDMResp.SupportedEventResult;

            /**
             * Encodes the specified SupportedEventResult message. Does not implicitly {@link usp.GetSupportedDMResp.SupportedEventResult.verify|verify} messages.
             * @param message SupportedEventResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.GetSupportedDMResp.SupportedEventResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a SupportedEventResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.GetSupportedDMResp.SupportedEventResult & usp.GetSupportedDMResp.SupportedEventResult.$Shape} SupportedEventResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetSupportedDMResp.SupportedEventResult & usp.GetSupportedDMResp.SupportedEventResult.$Shape;
        }

        namespace SupportedEventResult {

            /** Properties of a SupportedEventResult. */
            interface $Properties {

                /** SupportedEventResult eventName */
                eventName?: (string|null);

                /** SupportedEventResult argNames */
                argNames?: (string[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a SupportedEventResult. */
            type $Shape = usp.GetSupportedDMResp.SupportedEventResult.$Properties;
        }

        /**
         * Properties of a SupportedUniqueKeySet.
         * @deprecated Use usp.GetSupportedDMResp.SupportedUniqueKeySet.$Properties instead.
         */
        interface ISupportedUniqueKeySet extends usp.GetSupportedDMResp.SupportedUniqueKeySet.$Properties {
        }

        /** Represents a SupportedUniqueKeySet. */
        class SupportedUniqueKeySet {

            /**
             * Constructs a new SupportedUniqueKeySet.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.GetSupportedDMResp.SupportedUniqueKeySet.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** SupportedUniqueKeySet keyNames. */
            keyNames: string[];

            /**
             * Creates a new SupportedUniqueKeySet instance using the specified properties.
             * @param [properties] Properties to set
             * @returns SupportedUniqueKeySet instance
             */
            static create(properties: usp.GetSupportedDMResp.SupportedUniqueKeySet.$Shape): usp.GetSupportedDMResp.SupportedUniqueKeySet & usp.GetSupportedDMResp.SupportedUniqueKeySet.$Shape;
            static create(properties?: usp.GetSupportedDMResp.SupportedUniqueKeySet.$Properties): usp.GetSupportedDMResp.SupportedUniqueKeySet;

            /**
             * Encodes the specified SupportedUniqueKeySet message. Does not implicitly {@link usp.GetSupportedDMResp.SupportedUniqueKeySet.verify|verify} messages.
             * @param message SupportedUniqueKeySet message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.GetSupportedDMResp.SupportedUniqueKeySet.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a SupportedUniqueKeySet message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.GetSupportedDMResp.SupportedUniqueKeySet & usp.GetSupportedDMResp.SupportedUniqueKeySet.$Shape} SupportedUniqueKeySet
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetSupportedDMResp.SupportedUniqueKeySet & usp.GetSupportedDMResp.SupportedUniqueKeySet.$Shape;
        }

        namespace SupportedUniqueKeySet {

            /** Properties of a SupportedUniqueKeySet. */
            interface $Properties {

                /** SupportedUniqueKeySet keyNames */
                keyNames?: (string[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a SupportedUniqueKeySet. */
            type $Shape = usp.GetSupportedDMResp.SupportedUniqueKeySet.$Properties;
        }

        /** ParamAccessType enum. */
        enum ParamAccessType {

            /** PARAM_READ_ONLY value */
            PARAM_READ_ONLY = 0,

            /** PARAM_READ_WRITE value */
            PARAM_READ_WRITE = 1,

            /** PARAM_WRITE_ONLY value */
            PARAM_WRITE_ONLY = 2
        }

        /** ObjAccessType enum. */
        enum ObjAccessType {

            /** OBJ_READ_ONLY value */
            OBJ_READ_ONLY = 0,

            /** OBJ_ADD_DELETE value */
            OBJ_ADD_DELETE = 1,

            /** OBJ_ADD_ONLY value */
            OBJ_ADD_ONLY = 2,

            /** OBJ_DELETE_ONLY value */
            OBJ_DELETE_ONLY = 3
        }

        /** ParamValueType enum. */
        enum ParamValueType {

            /** PARAM_UNKNOWN value */
            PARAM_UNKNOWN = 0,

            /** PARAM_BASE_64 value */
            PARAM_BASE_64 = 1,

            /** PARAM_BOOLEAN value */
            PARAM_BOOLEAN = 2,

            /** PARAM_DATE_TIME value */
            PARAM_DATE_TIME = 3,

            /** PARAM_DECIMAL value */
            PARAM_DECIMAL = 4,

            /** PARAM_HEX_BINARY value */
            PARAM_HEX_BINARY = 5,

            /** PARAM_INT value */
            PARAM_INT = 6,

            /** PARAM_LONG value */
            PARAM_LONG = 7,

            /** PARAM_STRING value */
            PARAM_STRING = 8,

            /** PARAM_UNSIGNED_INT value */
            PARAM_UNSIGNED_INT = 9,

            /** PARAM_UNSIGNED_LONG value */
            PARAM_UNSIGNED_LONG = 10
        }

        /** ValueChangeType enum. */
        enum ValueChangeType {

            /** VALUE_CHANGE_UNKNOWN value */
            VALUE_CHANGE_UNKNOWN = 0,

            /** VALUE_CHANGE_ALLOWED value */
            VALUE_CHANGE_ALLOWED = 1,

            /** VALUE_CHANGE_WILL_IGNORE value */
            VALUE_CHANGE_WILL_IGNORE = 2
        }

        /** CmdType enum. */
        enum CmdType {

            /** CMD_UNKNOWN value */
            CMD_UNKNOWN = 0,

            /** CMD_SYNC value */
            CMD_SYNC = 1,

            /** CMD_ASYNC value */
            CMD_ASYNC = 2
        }
    }

    /**
     * Properties of a GetInstances.
     * @deprecated Use usp.GetInstances.$Properties instead.
     */
    interface IGetInstances extends usp.GetInstances.$Properties {
    }

    /** Represents a GetInstances. */
    class GetInstances {

        /**
         * Constructs a new GetInstances.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.GetInstances.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** GetInstances objPaths. */
        objPaths: string[];

        /** GetInstances firstLevelOnly. */
        firstLevelOnly: boolean;

        /**
         * Creates a new GetInstances instance using the specified properties.
         * @param [properties] Properties to set
         * @returns GetInstances instance
         */
        static create(properties: usp.GetInstances.$Shape): usp.GetInstances & usp.GetInstances.$Shape;
        static create(properties?: usp.GetInstances.$Properties): usp.GetInstances;

        /**
         * Encodes the specified GetInstances message. Does not implicitly {@link usp.GetInstances.verify|verify} messages.
         * @param message GetInstances message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.GetInstances.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a GetInstances message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.GetInstances & usp.GetInstances.$Shape} GetInstances
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetInstances & usp.GetInstances.$Shape;
    }

    namespace GetInstances {

        /** Properties of a GetInstances. */
        interface $Properties {

            /** GetInstances objPaths */
            objPaths?: (string[]|null);

            /** GetInstances firstLevelOnly */
            firstLevelOnly?: (boolean|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a GetInstances. */
        type $Shape = usp.GetInstances.$Properties;
    }

    /**
     * Properties of a GetInstancesResp.
     * @deprecated Use usp.GetInstancesResp.$Properties instead.
     */
    interface IGetInstancesResp extends usp.GetInstancesResp.$Properties {
    }

    /** Represents a GetInstancesResp. */
    class GetInstancesResp {

        /**
         * Constructs a new GetInstancesResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.GetInstancesResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** GetInstancesResp reqPathResults. */
        reqPathResults: usp.GetInstancesResp.RequestedPathResult.$Properties[];

        /**
         * Creates a new GetInstancesResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns GetInstancesResp instance
         */
        static create(properties: usp.GetInstancesResp.$Shape): usp.GetInstancesResp & usp.GetInstancesResp.$Shape;
        static create(properties?: usp.GetInstancesResp.$Properties): usp.GetInstancesResp;

        /**
         * Encodes the specified GetInstancesResp message. Does not implicitly {@link usp.GetInstancesResp.verify|verify} messages.
         * @param message GetInstancesResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.GetInstancesResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a GetInstancesResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.GetInstancesResp & usp.GetInstancesResp.$Shape} GetInstancesResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetInstancesResp & usp.GetInstancesResp.$Shape;
    }

    namespace GetInstancesResp {

        /** Properties of a GetInstancesResp. */
        interface $Properties {

            /** GetInstancesResp reqPathResults */
            reqPathResults?: (usp.GetInstancesResp.RequestedPathResult.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a GetInstancesResp. */
        type $Shape = usp.GetInstancesResp.$Properties;

        /**
         * Properties of a RequestedPathResult.
         * @deprecated Use usp.GetInstancesResp.RequestedPathResult.$Properties instead.
         */
        interface IRequestedPathResult extends usp.GetInstancesResp.RequestedPathResult.$Properties {
        }

        /** Represents a RequestedPathResult. */
        class RequestedPathResult {

            /**
             * Constructs a new RequestedPathResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.GetInstancesResp.RequestedPathResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** RequestedPathResult requestedPath. */
            requestedPath: string;

            /** RequestedPathResult errCode. */
            errCode: number;

            /** RequestedPathResult errMsg. */
            errMsg: string;

            /** RequestedPathResult currInsts. */
            currInsts: usp.GetInstancesResp.CurrInstance.$Properties[];

            /**
             * Creates a new RequestedPathResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns RequestedPathResult instance
             */
            static create(properties: usp.GetInstancesResp.RequestedPathResult.$Shape): usp.GetInstancesResp.RequestedPathResult & usp.GetInstancesResp.RequestedPathResult.$Shape;
            static create(properties?: usp.GetInstancesResp.RequestedPathResult.$Properties): usp.GetInstancesResp.RequestedPathResult;

            /**
             * Encodes the specified RequestedPathResult message. Does not implicitly {@link usp.GetInstancesResp.RequestedPathResult.verify|verify} messages.
             * @param message RequestedPathResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.GetInstancesResp.RequestedPathResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a RequestedPathResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.GetInstancesResp.RequestedPathResult & usp.GetInstancesResp.RequestedPathResult.$Shape} RequestedPathResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetInstancesResp.RequestedPathResult & usp.GetInstancesResp.RequestedPathResult.$Shape;
        }

        namespace RequestedPathResult {

            /** Properties of a RequestedPathResult. */
            interface $Properties {

                /** RequestedPathResult requestedPath */
                requestedPath?: (string|null);

                /** RequestedPathResult errCode */
                errCode?: (number|null);

                /** RequestedPathResult errMsg */
                errMsg?: (string|null);

                /** RequestedPathResult currInsts */
                currInsts?: (usp.GetInstancesResp.CurrInstance.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a RequestedPathResult. */
            type $Shape = usp.GetInstancesResp.RequestedPathResult.$Properties;
        }

        /**
         * Properties of a CurrInstance.
         * @deprecated Use usp.GetInstancesResp.CurrInstance.$Properties instead.
         */
        interface ICurrInstance extends usp.GetInstancesResp.CurrInstance.$Properties {
        }

        /** Represents a CurrInstance. */
        class CurrInstance {

            /**
             * Constructs a new CurrInstance.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.GetInstancesResp.CurrInstance.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** CurrInstance instantiatedObjPath. */
            instantiatedObjPath: string;

            /** CurrInstance uniqueKeys. */
            uniqueKeys: { [k: string]: string };

            /**
             * Creates a new CurrInstance instance using the specified properties.
             * @param [properties] Properties to set
             * @returns CurrInstance instance
             */
            static create(properties: usp.GetInstancesResp.CurrInstance.$Shape): usp.GetInstancesResp.CurrInstance & usp.GetInstancesResp.CurrInstance.$Shape;
            static create(properties?: usp.GetInstancesResp.CurrInstance.$Properties): usp.GetInstancesResp.CurrInstance;

            /**
             * Encodes the specified CurrInstance message. Does not implicitly {@link usp.GetInstancesResp.CurrInstance.verify|verify} messages.
             * @param message CurrInstance message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.GetInstancesResp.CurrInstance.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a CurrInstance message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.GetInstancesResp.CurrInstance & usp.GetInstancesResp.CurrInstance.$Shape} CurrInstance
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetInstancesResp.CurrInstance & usp.GetInstancesResp.CurrInstance.$Shape;
        }

        namespace CurrInstance {

            /** Properties of a CurrInstance. */
            interface $Properties {

                /** CurrInstance instantiatedObjPath */
                instantiatedObjPath?: (string|null);

                /** CurrInstance uniqueKeys */
                uniqueKeys?: ({ [k: string]: string }|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a CurrInstance. */
            type $Shape = usp.GetInstancesResp.CurrInstance.$Properties;
        }
    }

    /**
     * Properties of a GetSupportedProtocol.
     * @deprecated Use usp.GetSupportedProtocol.$Properties instead.
     */
    interface IGetSupportedProtocol extends usp.GetSupportedProtocol.$Properties {
    }

    /** Represents a GetSupportedProtocol. */
    class GetSupportedProtocol {

        /**
         * Constructs a new GetSupportedProtocol.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.GetSupportedProtocol.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** GetSupportedProtocol controllerSupportedProtocolVersions. */
        controllerSupportedProtocolVersions: string;

        /**
         * Creates a new GetSupportedProtocol instance using the specified properties.
         * @param [properties] Properties to set
         * @returns GetSupportedProtocol instance
         */
        static create(properties: usp.GetSupportedProtocol.$Shape): usp.GetSupportedProtocol & usp.GetSupportedProtocol.$Shape;
        static create(properties?: usp.GetSupportedProtocol.$Properties): usp.GetSupportedProtocol;

        /**
         * Encodes the specified GetSupportedProtocol message. Does not implicitly {@link usp.GetSupportedProtocol.verify|verify} messages.
         * @param message GetSupportedProtocol message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.GetSupportedProtocol.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a GetSupportedProtocol message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.GetSupportedProtocol & usp.GetSupportedProtocol.$Shape} GetSupportedProtocol
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetSupportedProtocol & usp.GetSupportedProtocol.$Shape;
    }

    namespace GetSupportedProtocol {

        /** Properties of a GetSupportedProtocol. */
        interface $Properties {

            /** GetSupportedProtocol controllerSupportedProtocolVersions */
            controllerSupportedProtocolVersions?: (string|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a GetSupportedProtocol. */
        type $Shape = usp.GetSupportedProtocol.$Properties;
    }

    /**
     * Properties of a GetSupportedProtocolResp.
     * @deprecated Use usp.GetSupportedProtocolResp.$Properties instead.
     */
    interface IGetSupportedProtocolResp extends usp.GetSupportedProtocolResp.$Properties {
    }

    /** Represents a GetSupportedProtocolResp. */
    class GetSupportedProtocolResp {

        /**
         * Constructs a new GetSupportedProtocolResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.GetSupportedProtocolResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** GetSupportedProtocolResp agentSupportedProtocolVersions. */
        agentSupportedProtocolVersions: string;

        /**
         * Creates a new GetSupportedProtocolResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns GetSupportedProtocolResp instance
         */
        static create(properties: usp.GetSupportedProtocolResp.$Shape): usp.GetSupportedProtocolResp & usp.GetSupportedProtocolResp.$Shape;
        static create(properties?: usp.GetSupportedProtocolResp.$Properties): usp.GetSupportedProtocolResp;

        /**
         * Encodes the specified GetSupportedProtocolResp message. Does not implicitly {@link usp.GetSupportedProtocolResp.verify|verify} messages.
         * @param message GetSupportedProtocolResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.GetSupportedProtocolResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a GetSupportedProtocolResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.GetSupportedProtocolResp & usp.GetSupportedProtocolResp.$Shape} GetSupportedProtocolResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.GetSupportedProtocolResp & usp.GetSupportedProtocolResp.$Shape;
    }

    namespace GetSupportedProtocolResp {

        /** Properties of a GetSupportedProtocolResp. */
        interface $Properties {

            /** GetSupportedProtocolResp agentSupportedProtocolVersions */
            agentSupportedProtocolVersions?: (string|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a GetSupportedProtocolResp. */
        type $Shape = usp.GetSupportedProtocolResp.$Properties;
    }

    /**
     * Properties of an Add.
     * @deprecated Use usp.Add.$Properties instead.
     */
    interface IAdd extends usp.Add.$Properties {
    }

    /** Represents an Add. */
    class Add {

        /**
         * Constructs a new Add.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Add.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Add allowPartial. */
        allowPartial: boolean;

        /** Add createObjs. */
        createObjs: usp.Add.CreateObject.$Properties[];

        /**
         * Creates a new Add instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Add instance
         */
        static create(properties: usp.Add.$Shape): usp.Add & usp.Add.$Shape;
        static create(properties?: usp.Add.$Properties): usp.Add;

        /**
         * Encodes the specified Add message. Does not implicitly {@link usp.Add.verify|verify} messages.
         * @param message Add message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Add.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes an Add message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Add & usp.Add.$Shape} Add
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Add & usp.Add.$Shape;
    }

    namespace Add {

        /** Properties of an Add. */
        interface $Properties {

            /** Add allowPartial */
            allowPartial?: (boolean|null);

            /** Add createObjs */
            createObjs?: (usp.Add.CreateObject.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of an Add. */
        type $Shape = usp.Add.$Properties;

        /**
         * Properties of a CreateObject.
         * @deprecated Use usp.Add.CreateObject.$Properties instead.
         */
        interface ICreateObject extends usp.Add.CreateObject.$Properties {
        }

        /** Represents a CreateObject. */
        class CreateObject {

            /**
             * Constructs a new CreateObject.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Add.CreateObject.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** CreateObject objPath. */
            objPath: string;

            /** CreateObject paramSettings. */
            paramSettings: usp.Add.CreateParamSetting.$Properties[];

            /**
             * Creates a new CreateObject instance using the specified properties.
             * @param [properties] Properties to set
             * @returns CreateObject instance
             */
            static create(properties: usp.Add.CreateObject.$Shape): usp.Add.CreateObject & usp.Add.CreateObject.$Shape;
            static create(properties?: usp.Add.CreateObject.$Properties): usp.Add.CreateObject;

            /**
             * Encodes the specified CreateObject message. Does not implicitly {@link usp.Add.CreateObject.verify|verify} messages.
             * @param message CreateObject message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Add.CreateObject.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a CreateObject message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Add.CreateObject & usp.Add.CreateObject.$Shape} CreateObject
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Add.CreateObject & usp.Add.CreateObject.$Shape;
        }

        namespace CreateObject {

            /** Properties of a CreateObject. */
            interface $Properties {

                /** CreateObject objPath */
                objPath?: (string|null);

                /** CreateObject paramSettings */
                paramSettings?: (usp.Add.CreateParamSetting.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a CreateObject. */
            type $Shape = usp.Add.CreateObject.$Properties;
        }

        /**
         * Properties of a CreateParamSetting.
         * @deprecated Use usp.Add.CreateParamSetting.$Properties instead.
         */
        interface ICreateParamSetting extends usp.Add.CreateParamSetting.$Properties {
        }

        /** Represents a CreateParamSetting. */
        class CreateParamSetting {

            /**
             * Constructs a new CreateParamSetting.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Add.CreateParamSetting.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** CreateParamSetting param. */
            param: string;

            /** CreateParamSetting value. */
            value: string;

            /** CreateParamSetting required. */
            required: boolean;

            /**
             * Creates a new CreateParamSetting instance using the specified properties.
             * @param [properties] Properties to set
             * @returns CreateParamSetting instance
             */
            static create(properties: usp.Add.CreateParamSetting.$Shape): usp.Add.CreateParamSetting & usp.Add.CreateParamSetting.$Shape;
            static create(properties?: usp.Add.CreateParamSetting.$Properties): usp.Add.CreateParamSetting;

            /**
             * Encodes the specified CreateParamSetting message. Does not implicitly {@link usp.Add.CreateParamSetting.verify|verify} messages.
             * @param message CreateParamSetting message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Add.CreateParamSetting.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a CreateParamSetting message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Add.CreateParamSetting & usp.Add.CreateParamSetting.$Shape} CreateParamSetting
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Add.CreateParamSetting & usp.Add.CreateParamSetting.$Shape;
        }

        namespace CreateParamSetting {

            /** Properties of a CreateParamSetting. */
            interface $Properties {

                /** CreateParamSetting param */
                param?: (string|null);

                /** CreateParamSetting value */
                value?: (string|null);

                /** CreateParamSetting required */
                required?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a CreateParamSetting. */
            type $Shape = usp.Add.CreateParamSetting.$Properties;
        }
    }

    /**
     * Properties of an AddResp.
     * @deprecated Use usp.AddResp.$Properties instead.
     */
    interface IAddResp extends usp.AddResp.$Properties {
    }

    /** Represents an AddResp. */
    class AddResp {

        /**
         * Constructs a new AddResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.AddResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** AddResp createdObjResults. */
        createdObjResults: usp.AddResp.CreatedObjectResult.$Properties[];

        /**
         * Creates a new AddResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns AddResp instance
         */
        static create(properties: usp.AddResp.$Shape): usp.AddResp & usp.AddResp.$Shape;
        static create(properties?: usp.AddResp.$Properties): usp.AddResp;

        /**
         * Encodes the specified AddResp message. Does not implicitly {@link usp.AddResp.verify|verify} messages.
         * @param message AddResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.AddResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes an AddResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.AddResp & usp.AddResp.$Shape} AddResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.AddResp & usp.AddResp.$Shape;
    }

    namespace AddResp {

        /** Properties of an AddResp. */
        interface $Properties {

            /** AddResp createdObjResults */
            createdObjResults?: (usp.AddResp.CreatedObjectResult.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of an AddResp. */
        type $Shape = {
          createdObjResults?: usp.AddResp.CreatedObjectResult.$Shape[]|null;
          $unknowns?: Uint8Array[];
        };

        /**
         * Properties of a CreatedObjectResult.
         * @deprecated Use usp.AddResp.CreatedObjectResult.$Properties instead.
         */
        interface ICreatedObjectResult extends usp.AddResp.CreatedObjectResult.$Properties {
        }

        /** Represents a CreatedObjectResult. */
        class CreatedObjectResult {

            /**
             * Constructs a new CreatedObjectResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.AddResp.CreatedObjectResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** CreatedObjectResult requestedPath. */
            requestedPath: string;

            /** CreatedObjectResult operStatus. */
            operStatus?: (usp.AddResp.CreatedObjectResult.OperationStatus.$Properties|null);

            /**
             * Creates a new CreatedObjectResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns CreatedObjectResult instance
             */
            static create(properties: usp.AddResp.CreatedObjectResult.$Shape): usp.AddResp.CreatedObjectResult & usp.AddResp.CreatedObjectResult.$Shape;
            static create(properties?: usp.AddResp.CreatedObjectResult.$Properties): usp.AddResp.CreatedObjectResult;

            /**
             * Encodes the specified CreatedObjectResult message. Does not implicitly {@link usp.AddResp.CreatedObjectResult.verify|verify} messages.
             * @param message CreatedObjectResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.AddResp.CreatedObjectResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a CreatedObjectResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.AddResp.CreatedObjectResult & usp.AddResp.CreatedObjectResult.$Shape} CreatedObjectResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.AddResp.CreatedObjectResult & usp.AddResp.CreatedObjectResult.$Shape;
        }

        namespace CreatedObjectResult {

            /** Properties of a CreatedObjectResult. */
            interface $Properties {

                /** CreatedObjectResult requestedPath */
                requestedPath?: (string|null);

                /** CreatedObjectResult operStatus */
                operStatus?: (usp.AddResp.CreatedObjectResult.OperationStatus.$Properties|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a CreatedObjectResult. */
            type $Shape = {
              requestedPath?: string|null;
              operStatus?: usp.AddResp.CreatedObjectResult.OperationStatus.$Shape|null;
              $unknowns?: Uint8Array[];
            };

            /**
             * Properties of an OperationStatus.
             * @deprecated Use usp.AddResp.CreatedObjectResult.OperationStatus.$Properties instead.
             */
            interface IOperationStatus extends usp.AddResp.CreatedObjectResult.OperationStatus.$Properties {
            }

            /** Represents an OperationStatus. */
            class OperationStatus {

                /**
                 * Constructs a new OperationStatus.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: usp.AddResp.CreatedObjectResult.OperationStatus.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** OperationStatus operFailure. */
                operFailure?: (usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Properties|null);

                /** OperationStatus operSuccess. */
                operSuccess?: (usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Properties|null);

                /** OperationStatus operStatus. */
                operStatus?: ("operFailure"|"operSuccess");

                /**
                 * Creates a new OperationStatus instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns OperationStatus instance
                 */
                static create(properties: usp.AddResp.CreatedObjectResult.OperationStatus.$Shape): usp.AddResp.CreatedObjectResult.OperationStatus & usp.AddResp.CreatedObjectResult.OperationStatus.$Shape;
                static create(properties?: usp.AddResp.CreatedObjectResult.OperationStatus.$Properties): usp.AddResp.CreatedObjectResult.OperationStatus;

                /**
                 * Encodes the specified OperationStatus message. Does not implicitly {@link usp.AddResp.CreatedObjectResult.OperationStatus.verify|verify} messages.
                 * @param message OperationStatus message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: usp.AddResp.CreatedObjectResult.OperationStatus.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes an OperationStatus message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {usp.AddResp.CreatedObjectResult.OperationStatus & usp.AddResp.CreatedObjectResult.OperationStatus.$Shape} OperationStatus
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.AddResp.CreatedObjectResult.OperationStatus & usp.AddResp.CreatedObjectResult.OperationStatus.$Shape;
            }

            namespace OperationStatus {

                /** Properties of an OperationStatus. */
                interface $Properties {

                    /** OperationStatus operFailure */
                    operFailure?: (usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Properties|null);

                    /** OperationStatus operSuccess */
                    operSuccess?: (usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Properties|null);

                    /** OperationStatus operStatus */
                    operStatus?: ("operFailure"|"operSuccess");

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Narrowed shape of an OperationStatus. */
                type $Shape = {
                  operFailure?: usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Shape|null;
                  operSuccess?: usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Shape|null;
                  $unknowns?: Uint8Array[];
                } & (
                  ({ operStatus?: undefined; operFailure?: null; operSuccess?: null }|{ operStatus?: "operFailure"; operFailure: usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Shape; operSuccess?: null }|{ operStatus?: "operSuccess"; operFailure?: null; operSuccess: usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Shape })
                );

                /**
                 * Properties of an OperationFailure.
                 * @deprecated Use usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Properties instead.
                 */
                interface IOperationFailure extends usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Properties {
                }

                /** Represents an OperationFailure. */
                class OperationFailure {

                    /**
                     * Constructs a new OperationFailure.
                     * @param [properties] Properties to set
                     */
                    constructor(properties?: usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Properties);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];

                    /** OperationFailure errCode. */
                    errCode: number;

                    /** OperationFailure errMsg. */
                    errMsg: string;

                    /**
                     * Creates a new OperationFailure instance using the specified properties.
                     * @param [properties] Properties to set
                     * @returns OperationFailure instance
                     */
                    static create(properties: usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Shape): usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure & usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Shape;
                    static create(properties?: usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Properties): usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure;

                    /**
                     * Encodes the specified OperationFailure message. Does not implicitly {@link usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.verify|verify} messages.
                     * @param message OperationFailure message or plain object to encode
                     * @param [writer] Writer to encode to
                     * @returns Writer
                     */
                    static encode(message: usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                    /**
                     * Decodes an OperationFailure message from the specified reader or buffer.
                     * @param reader Reader or buffer to decode from
                     * @param [length] Message length if known beforehand
                     * @returns {usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure & usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Shape} OperationFailure
                     * @throws {Error} If the payload is not a reader or valid buffer
                     * @throws {$protobuf.util.ProtocolError} If required fields are missing
                     */
                    static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure & usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Shape;
                }

                namespace OperationFailure {

                    /** Properties of an OperationFailure. */
                    interface $Properties {

                        /** OperationFailure errCode */
                        errCode?: (number|null);

                        /** OperationFailure errMsg */
                        errMsg?: (string|null);

                        /** Unknown fields preserved while decoding when enabled */
                        $unknowns?: Uint8Array[];
                    }

                    /** Shape of an OperationFailure. */
                    type $Shape = usp.AddResp.CreatedObjectResult.OperationStatus.OperationFailure.$Properties;
                }

                /**
                 * Properties of an OperationSuccess.
                 * @deprecated Use usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Properties instead.
                 */
                interface IOperationSuccess extends usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Properties {
                }

                /** Represents an OperationSuccess. */
                class OperationSuccess {

                    /**
                     * Constructs a new OperationSuccess.
                     * @param [properties] Properties to set
                     */
                    constructor(properties?: usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Properties);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];

                    /** OperationSuccess instantiatedPath. */
                    instantiatedPath: string;

                    /** OperationSuccess paramErrs. */
                    paramErrs: usp.AddResp.ParameterError.$Properties[];

                    /** OperationSuccess uniqueKeys. */
                    uniqueKeys: { [k: string]: string };

                    /**
                     * Creates a new OperationSuccess instance using the specified properties.
                     * @param [properties] Properties to set
                     * @returns OperationSuccess instance
                     */
                    static create(properties: usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Shape): usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess & usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Shape;
                    static create(properties?: usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Properties): usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess;

                    /**
                     * Encodes the specified OperationSuccess message. Does not implicitly {@link usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.verify|verify} messages.
                     * @param message OperationSuccess message or plain object to encode
                     * @param [writer] Writer to encode to
                     * @returns Writer
                     */
                    static encode(message: usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                    /**
                     * Decodes an OperationSuccess message from the specified reader or buffer.
                     * @param reader Reader or buffer to decode from
                     * @param [length] Message length if known beforehand
                     * @returns {usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess & usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Shape} OperationSuccess
                     * @throws {Error} If the payload is not a reader or valid buffer
                     * @throws {$protobuf.util.ProtocolError} If required fields are missing
                     */
                    static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess & usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Shape;
                }

                namespace OperationSuccess {

                    /** Properties of an OperationSuccess. */
                    interface $Properties {

                        /** OperationSuccess instantiatedPath */
                        instantiatedPath?: (string|null);

                        /** OperationSuccess paramErrs */
                        paramErrs?: (usp.AddResp.ParameterError.$Properties[]|null);

                        /** OperationSuccess uniqueKeys */
                        uniqueKeys?: ({ [k: string]: string }|null);

                        /** Unknown fields preserved while decoding when enabled */
                        $unknowns?: Uint8Array[];
                    }

                    /** Shape of an OperationSuccess. */
                    type $Shape = usp.AddResp.CreatedObjectResult.OperationStatus.OperationSuccess.$Properties;
                }
            }
        }

        /**
         * Properties of a ParameterError.
         * @deprecated Use usp.AddResp.ParameterError.$Properties instead.
         */
        interface IParameterError extends usp.AddResp.ParameterError.$Properties {
        }

        /** Represents a ParameterError. */
        class ParameterError {

            /**
             * Constructs a new ParameterError.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.AddResp.ParameterError.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ParameterError param. */
            param: string;

            /** ParameterError errCode. */
            errCode: number;

            /** ParameterError errMsg. */
            errMsg: string;

            /**
             * Creates a new ParameterError instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ParameterError instance
             */
            static create(properties: usp.AddResp.ParameterError.$Shape): usp.AddResp.ParameterError & usp.AddResp.ParameterError.$Shape;
            static create(properties?: usp.AddResp.ParameterError.$Properties): usp.AddResp.ParameterError;

            /**
             * Encodes the specified ParameterError message. Does not implicitly {@link usp.AddResp.ParameterError.verify|verify} messages.
             * @param message ParameterError message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.AddResp.ParameterError.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ParameterError message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.AddResp.ParameterError & usp.AddResp.ParameterError.$Shape} ParameterError
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.AddResp.ParameterError & usp.AddResp.ParameterError.$Shape;
        }

        namespace ParameterError {

            /** Properties of a ParameterError. */
            interface $Properties {

                /** ParameterError param */
                param?: (string|null);

                /** ParameterError errCode */
                errCode?: (number|null);

                /** ParameterError errMsg */
                errMsg?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ParameterError. */
            type $Shape = usp.AddResp.ParameterError.$Properties;
        }
    }

    /**
     * Properties of a Delete.
     * @deprecated Use usp.Delete.$Properties instead.
     */
    interface IDelete extends usp.Delete.$Properties {
    }

    /** Represents a Delete. */
    class Delete {

        /**
         * Constructs a new Delete.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Delete.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Delete allowPartial. */
        allowPartial: boolean;

        /** Delete objPaths. */
        objPaths: string[];

        /**
         * Creates a new Delete instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Delete instance
         */
        static create(properties: usp.Delete.$Shape): usp.Delete & usp.Delete.$Shape;
        static create(properties?: usp.Delete.$Properties): usp.Delete;

        /**
         * Encodes the specified Delete message. Does not implicitly {@link usp.Delete.verify|verify} messages.
         * @param message Delete message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Delete.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Delete message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Delete & usp.Delete.$Shape} Delete
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Delete & usp.Delete.$Shape;
    }

    namespace Delete {

        /** Properties of a Delete. */
        interface $Properties {

            /** Delete allowPartial */
            allowPartial?: (boolean|null);

            /** Delete objPaths */
            objPaths?: (string[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Delete. */
        type $Shape = usp.Delete.$Properties;
    }

    /**
     * Properties of a DeleteResp.
     * @deprecated Use usp.DeleteResp.$Properties instead.
     */
    interface IDeleteResp extends usp.DeleteResp.$Properties {
    }

    /** Represents a DeleteResp. */
    class DeleteResp {

        /**
         * Constructs a new DeleteResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.DeleteResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** DeleteResp deletedObjResults. */
        deletedObjResults: usp.DeleteResp.DeletedObjectResult.$Properties[];

        /**
         * Creates a new DeleteResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns DeleteResp instance
         */
        static create(properties: usp.DeleteResp.$Shape): usp.DeleteResp & usp.DeleteResp.$Shape;
        static create(properties?: usp.DeleteResp.$Properties): usp.DeleteResp;

        /**
         * Encodes the specified DeleteResp message. Does not implicitly {@link usp.DeleteResp.verify|verify} messages.
         * @param message DeleteResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.DeleteResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a DeleteResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.DeleteResp & usp.DeleteResp.$Shape} DeleteResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeleteResp & usp.DeleteResp.$Shape;
    }

    namespace DeleteResp {

        /** Properties of a DeleteResp. */
        interface $Properties {

            /** DeleteResp deletedObjResults */
            deletedObjResults?: (usp.DeleteResp.DeletedObjectResult.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a DeleteResp. */
        type $Shape = {
          deletedObjResults?: usp.DeleteResp.DeletedObjectResult.$Shape[]|null;
          $unknowns?: Uint8Array[];
        };

        /**
         * Properties of a DeletedObjectResult.
         * @deprecated Use usp.DeleteResp.DeletedObjectResult.$Properties instead.
         */
        interface IDeletedObjectResult extends usp.DeleteResp.DeletedObjectResult.$Properties {
        }

        /** Represents a DeletedObjectResult. */
        class DeletedObjectResult {

            /**
             * Constructs a new DeletedObjectResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.DeleteResp.DeletedObjectResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** DeletedObjectResult requestedPath. */
            requestedPath: string;

            /** DeletedObjectResult operStatus. */
            operStatus?: (usp.DeleteResp.DeletedObjectResult.OperationStatus.$Properties|null);

            /**
             * Creates a new DeletedObjectResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns DeletedObjectResult instance
             */
            static create(properties: usp.DeleteResp.DeletedObjectResult.$Shape): usp.DeleteResp.DeletedObjectResult & usp.DeleteResp.DeletedObjectResult.$Shape;
            static create(properties?: usp.DeleteResp.DeletedObjectResult.$Properties): usp.DeleteResp.DeletedObjectResult;

            /**
             * Encodes the specified DeletedObjectResult message. Does not implicitly {@link usp.DeleteResp.DeletedObjectResult.verify|verify} messages.
             * @param message DeletedObjectResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.DeleteResp.DeletedObjectResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a DeletedObjectResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.DeleteResp.DeletedObjectResult & usp.DeleteResp.DeletedObjectResult.$Shape} DeletedObjectResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeleteResp.DeletedObjectResult & usp.DeleteResp.DeletedObjectResult.$Shape;
        }

        namespace DeletedObjectResult {

            /** Properties of a DeletedObjectResult. */
            interface $Properties {

                /** DeletedObjectResult requestedPath */
                requestedPath?: (string|null);

                /** DeletedObjectResult operStatus */
                operStatus?: (usp.DeleteResp.DeletedObjectResult.OperationStatus.$Properties|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a DeletedObjectResult. */
            type $Shape = {
              requestedPath?: string|null;
              operStatus?: usp.DeleteResp.DeletedObjectResult.OperationStatus.$Shape|null;
              $unknowns?: Uint8Array[];
            };

            /**
             * Properties of an OperationStatus.
             * @deprecated Use usp.DeleteResp.DeletedObjectResult.OperationStatus.$Properties instead.
             */
            interface IOperationStatus extends usp.DeleteResp.DeletedObjectResult.OperationStatus.$Properties {
            }

            /** Represents an OperationStatus. */
            class OperationStatus {

                /**
                 * Constructs a new OperationStatus.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: usp.DeleteResp.DeletedObjectResult.OperationStatus.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** OperationStatus operFailure. */
                operFailure?: (usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Properties|null);

                /** OperationStatus operSuccess. */
                operSuccess?: (usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Properties|null);

                /** OperationStatus operStatus. */
                operStatus?: ("operFailure"|"operSuccess");

                /**
                 * Creates a new OperationStatus instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns OperationStatus instance
                 */
                static create(properties: usp.DeleteResp.DeletedObjectResult.OperationStatus.$Shape): usp.DeleteResp.DeletedObjectResult.OperationStatus & usp.DeleteResp.DeletedObjectResult.OperationStatus.$Shape;
                static create(properties?: usp.DeleteResp.DeletedObjectResult.OperationStatus.$Properties): usp.DeleteResp.DeletedObjectResult.OperationStatus;

                /**
                 * Encodes the specified OperationStatus message. Does not implicitly {@link usp.DeleteResp.DeletedObjectResult.OperationStatus.verify|verify} messages.
                 * @param message OperationStatus message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: usp.DeleteResp.DeletedObjectResult.OperationStatus.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes an OperationStatus message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {usp.DeleteResp.DeletedObjectResult.OperationStatus & usp.DeleteResp.DeletedObjectResult.OperationStatus.$Shape} OperationStatus
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeleteResp.DeletedObjectResult.OperationStatus & usp.DeleteResp.DeletedObjectResult.OperationStatus.$Shape;
            }

            namespace OperationStatus {

                /** Properties of an OperationStatus. */
                interface $Properties {

                    /** OperationStatus operFailure */
                    operFailure?: (usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Properties|null);

                    /** OperationStatus operSuccess */
                    operSuccess?: (usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Properties|null);

                    /** OperationStatus operStatus */
                    operStatus?: ("operFailure"|"operSuccess");

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Narrowed shape of an OperationStatus. */
                type $Shape = {
                  operFailure?: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Shape|null;
                  operSuccess?: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Shape|null;
                  $unknowns?: Uint8Array[];
                } & (
                  ({ operStatus?: undefined; operFailure?: null; operSuccess?: null }|{ operStatus?: "operFailure"; operFailure: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Shape; operSuccess?: null }|{ operStatus?: "operSuccess"; operFailure?: null; operSuccess: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Shape })
                );

                /**
                 * Properties of an OperationFailure.
                 * @deprecated Use usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Properties instead.
                 */
                interface IOperationFailure extends usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Properties {
                }

                /** Represents an OperationFailure. */
                class OperationFailure {

                    /**
                     * Constructs a new OperationFailure.
                     * @param [properties] Properties to set
                     */
                    constructor(properties?: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Properties);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];

                    /** OperationFailure errCode. */
                    errCode: number;

                    /** OperationFailure errMsg. */
                    errMsg: string;

                    /**
                     * Creates a new OperationFailure instance using the specified properties.
                     * @param [properties] Properties to set
                     * @returns OperationFailure instance
                     */
                    static create(properties: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Shape): usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure & usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Shape;
                    static create(properties?: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Properties): usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure;

                    /**
                     * Encodes the specified OperationFailure message. Does not implicitly {@link usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.verify|verify} messages.
                     * @param message OperationFailure message or plain object to encode
                     * @param [writer] Writer to encode to
                     * @returns Writer
                     */
                    static encode(message: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                    /**
                     * Decodes an OperationFailure message from the specified reader or buffer.
                     * @param reader Reader or buffer to decode from
                     * @param [length] Message length if known beforehand
                     * @returns {usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure & usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Shape} OperationFailure
                     * @throws {Error} If the payload is not a reader or valid buffer
                     * @throws {$protobuf.util.ProtocolError} If required fields are missing
                     */
                    static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure & usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Shape;
                }

                namespace OperationFailure {

                    /** Properties of an OperationFailure. */
                    interface $Properties {

                        /** OperationFailure errCode */
                        errCode?: (number|null);

                        /** OperationFailure errMsg */
                        errMsg?: (string|null);

                        /** Unknown fields preserved while decoding when enabled */
                        $unknowns?: Uint8Array[];
                    }

                    /** Shape of an OperationFailure. */
                    type $Shape = usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationFailure.$Properties;
                }

                /**
                 * Properties of an OperationSuccess.
                 * @deprecated Use usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Properties instead.
                 */
                interface IOperationSuccess extends usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Properties {
                }

                /** Represents an OperationSuccess. */
                class OperationSuccess {

                    /**
                     * Constructs a new OperationSuccess.
                     * @param [properties] Properties to set
                     */
                    constructor(properties?: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Properties);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];

                    /** OperationSuccess affectedPaths. */
                    affectedPaths: string[];

                    /** OperationSuccess unaffectedPathErrs. */
                    unaffectedPathErrs: usp.DeleteResp.UnaffectedPathError.$Properties[];

                    /**
                     * Creates a new OperationSuccess instance using the specified properties.
                     * @param [properties] Properties to set
                     * @returns OperationSuccess instance
                     */
                    static create(properties: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Shape): usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess & usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Shape;
                    static create(properties?: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Properties): usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess;

                    /**
                     * Encodes the specified OperationSuccess message. Does not implicitly {@link usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.verify|verify} messages.
                     * @param message OperationSuccess message or plain object to encode
                     * @param [writer] Writer to encode to
                     * @returns Writer
                     */
                    static encode(message: usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                    /**
                     * Decodes an OperationSuccess message from the specified reader or buffer.
                     * @param reader Reader or buffer to decode from
                     * @param [length] Message length if known beforehand
                     * @returns {usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess & usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Shape} OperationSuccess
                     * @throws {Error} If the payload is not a reader or valid buffer
                     * @throws {$protobuf.util.ProtocolError} If required fields are missing
                     */
                    static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess & usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Shape;
                }

                namespace OperationSuccess {

                    /** Properties of an OperationSuccess. */
                    interface $Properties {

                        /** OperationSuccess affectedPaths */
                        affectedPaths?: (string[]|null);

                        /** OperationSuccess unaffectedPathErrs */
                        unaffectedPathErrs?: (usp.DeleteResp.UnaffectedPathError.$Properties[]|null);

                        /** Unknown fields preserved while decoding when enabled */
                        $unknowns?: Uint8Array[];
                    }

                    /** Shape of an OperationSuccess. */
                    type $Shape = usp.DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess.$Properties;
                }
            }
        }

        /**
         * Properties of an UnaffectedPathError.
         * @deprecated Use usp.DeleteResp.UnaffectedPathError.$Properties instead.
         */
        interface IUnaffectedPathError extends usp.DeleteResp.UnaffectedPathError.$Properties {
        }

        /** Represents an UnaffectedPathError. */
        class UnaffectedPathError {

            /**
             * Constructs a new UnaffectedPathError.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.DeleteResp.UnaffectedPathError.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** UnaffectedPathError unaffectedPath. */
            unaffectedPath: string;

            /** UnaffectedPathError errCode. */
            errCode: number;

            /** UnaffectedPathError errMsg. */
            errMsg: string;

            /**
             * Creates a new UnaffectedPathError instance using the specified properties.
             * @param [properties] Properties to set
             * @returns UnaffectedPathError instance
             */
            static create(properties: usp.DeleteResp.UnaffectedPathError.$Shape): usp.DeleteResp.UnaffectedPathError & usp.DeleteResp.UnaffectedPathError.$Shape;
            static create(properties?: usp.DeleteResp.UnaffectedPathError.$Properties): usp.DeleteResp.UnaffectedPathError;

            /**
             * Encodes the specified UnaffectedPathError message. Does not implicitly {@link usp.DeleteResp.UnaffectedPathError.verify|verify} messages.
             * @param message UnaffectedPathError message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.DeleteResp.UnaffectedPathError.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an UnaffectedPathError message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.DeleteResp.UnaffectedPathError & usp.DeleteResp.UnaffectedPathError.$Shape} UnaffectedPathError
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeleteResp.UnaffectedPathError & usp.DeleteResp.UnaffectedPathError.$Shape;
        }

        namespace UnaffectedPathError {

            /** Properties of an UnaffectedPathError. */
            interface $Properties {

                /** UnaffectedPathError unaffectedPath */
                unaffectedPath?: (string|null);

                /** UnaffectedPathError errCode */
                errCode?: (number|null);

                /** UnaffectedPathError errMsg */
                errMsg?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an UnaffectedPathError. */
            type $Shape = usp.DeleteResp.UnaffectedPathError.$Properties;
        }
    }

    /**
     * Properties of a Set.
     * @deprecated Use usp.Set.$Properties instead.
     */
    interface ISet extends usp.Set.$Properties {
    }

    /** Represents a Set. */
    class Set {

        /**
         * Constructs a new Set.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Set.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Set allowPartial. */
        allowPartial: boolean;

        /** Set updateObjs. */
        updateObjs: usp.Set.UpdateObject.$Properties[];

        /**
         * Creates a new Set instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Set instance
         */
        static create(properties: usp.Set.$Shape): usp.Set & usp.Set.$Shape;
        static create(properties?: usp.Set.$Properties): usp.Set;

        /**
         * Encodes the specified Set message. Does not implicitly {@link usp.Set.verify|verify} messages.
         * @param message Set message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Set.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Set message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Set & usp.Set.$Shape} Set
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Set & usp.Set.$Shape;
    }

    namespace Set {

        /** Properties of a Set. */
        interface $Properties {

            /** Set allowPartial */
            allowPartial?: (boolean|null);

            /** Set updateObjs */
            updateObjs?: (usp.Set.UpdateObject.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Set. */
        type $Shape = usp.Set.$Properties;

        /**
         * Properties of an UpdateObject.
         * @deprecated Use usp.Set.UpdateObject.$Properties instead.
         */
        interface IUpdateObject extends usp.Set.UpdateObject.$Properties {
        }

        /** Represents an UpdateObject. */
        class UpdateObject {

            /**
             * Constructs a new UpdateObject.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Set.UpdateObject.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** UpdateObject objPath. */
            objPath: string;

            /** UpdateObject paramSettings. */
            paramSettings: usp.Set.UpdateParamSetting.$Properties[];

            /**
             * Creates a new UpdateObject instance using the specified properties.
             * @param [properties] Properties to set
             * @returns UpdateObject instance
             */
            static create(properties: usp.Set.UpdateObject.$Shape): usp.Set.UpdateObject & usp.Set.UpdateObject.$Shape;
            static create(properties?: usp.Set.UpdateObject.$Properties): usp.Set.UpdateObject;

            /**
             * Encodes the specified UpdateObject message. Does not implicitly {@link usp.Set.UpdateObject.verify|verify} messages.
             * @param message UpdateObject message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Set.UpdateObject.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an UpdateObject message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Set.UpdateObject & usp.Set.UpdateObject.$Shape} UpdateObject
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Set.UpdateObject & usp.Set.UpdateObject.$Shape;
        }

        namespace UpdateObject {

            /** Properties of an UpdateObject. */
            interface $Properties {

                /** UpdateObject objPath */
                objPath?: (string|null);

                /** UpdateObject paramSettings */
                paramSettings?: (usp.Set.UpdateParamSetting.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an UpdateObject. */
            type $Shape = usp.Set.UpdateObject.$Properties;
        }

        /**
         * Properties of an UpdateParamSetting.
         * @deprecated Use usp.Set.UpdateParamSetting.$Properties instead.
         */
        interface IUpdateParamSetting extends usp.Set.UpdateParamSetting.$Properties {
        }

        /** Represents an UpdateParamSetting. */
        class UpdateParamSetting {

            /**
             * Constructs a new UpdateParamSetting.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Set.UpdateParamSetting.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** UpdateParamSetting param. */
            param: string;

            /** UpdateParamSetting value. */
            value: string;

            /** UpdateParamSetting required. */
            required: boolean;

            /**
             * Creates a new UpdateParamSetting instance using the specified properties.
             * @param [properties] Properties to set
             * @returns UpdateParamSetting instance
             */
            static create(properties: usp.Set.UpdateParamSetting.$Shape): usp.Set.UpdateParamSetting & usp.Set.UpdateParamSetting.$Shape;
            static create(properties?: usp.Set.UpdateParamSetting.$Properties): usp.Set.UpdateParamSetting;

            /**
             * Encodes the specified UpdateParamSetting message. Does not implicitly {@link usp.Set.UpdateParamSetting.verify|verify} messages.
             * @param message UpdateParamSetting message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Set.UpdateParamSetting.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an UpdateParamSetting message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Set.UpdateParamSetting & usp.Set.UpdateParamSetting.$Shape} UpdateParamSetting
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Set.UpdateParamSetting & usp.Set.UpdateParamSetting.$Shape;
        }

        namespace UpdateParamSetting {

            /** Properties of an UpdateParamSetting. */
            interface $Properties {

                /** UpdateParamSetting param */
                param?: (string|null);

                /** UpdateParamSetting value */
                value?: (string|null);

                /** UpdateParamSetting required */
                required?: (boolean|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an UpdateParamSetting. */
            type $Shape = usp.Set.UpdateParamSetting.$Properties;
        }
    }

    /**
     * Properties of a SetResp.
     * @deprecated Use usp.SetResp.$Properties instead.
     */
    interface ISetResp extends usp.SetResp.$Properties {
    }

    /** Represents a SetResp. */
    class SetResp {

        /**
         * Constructs a new SetResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.SetResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** SetResp updatedObjResults. */
        updatedObjResults: usp.SetResp.UpdatedObjectResult.$Properties[];

        /**
         * Creates a new SetResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns SetResp instance
         */
        static create(properties: usp.SetResp.$Shape): usp.SetResp & usp.SetResp.$Shape;
        static create(properties?: usp.SetResp.$Properties): usp.SetResp;

        /**
         * Encodes the specified SetResp message. Does not implicitly {@link usp.SetResp.verify|verify} messages.
         * @param message SetResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.SetResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a SetResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.SetResp & usp.SetResp.$Shape} SetResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.SetResp & usp.SetResp.$Shape;
    }

    namespace SetResp {

        /** Properties of a SetResp. */
        interface $Properties {

            /** SetResp updatedObjResults */
            updatedObjResults?: (usp.SetResp.UpdatedObjectResult.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a SetResp. */
        type $Shape = {
          updatedObjResults?: usp.SetResp.UpdatedObjectResult.$Shape[]|null;
          $unknowns?: Uint8Array[];
        };

        /**
         * Properties of an UpdatedObjectResult.
         * @deprecated Use usp.SetResp.UpdatedObjectResult.$Properties instead.
         */
        interface IUpdatedObjectResult extends usp.SetResp.UpdatedObjectResult.$Properties {
        }

        /** Represents an UpdatedObjectResult. */
        class UpdatedObjectResult {

            /**
             * Constructs a new UpdatedObjectResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.SetResp.UpdatedObjectResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** UpdatedObjectResult requestedPath. */
            requestedPath: string;

            /** UpdatedObjectResult operStatus. */
            operStatus?: (usp.SetResp.UpdatedObjectResult.OperationStatus.$Properties|null);

            /**
             * Creates a new UpdatedObjectResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns UpdatedObjectResult instance
             */
            static create(properties: usp.SetResp.UpdatedObjectResult.$Shape): usp.SetResp.UpdatedObjectResult & usp.SetResp.UpdatedObjectResult.$Shape;
            static create(properties?: usp.SetResp.UpdatedObjectResult.$Properties): usp.SetResp.UpdatedObjectResult;

            /**
             * Encodes the specified UpdatedObjectResult message. Does not implicitly {@link usp.SetResp.UpdatedObjectResult.verify|verify} messages.
             * @param message UpdatedObjectResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.SetResp.UpdatedObjectResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an UpdatedObjectResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.SetResp.UpdatedObjectResult & usp.SetResp.UpdatedObjectResult.$Shape} UpdatedObjectResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.SetResp.UpdatedObjectResult & usp.SetResp.UpdatedObjectResult.$Shape;
        }

        namespace UpdatedObjectResult {

            /** Properties of an UpdatedObjectResult. */
            interface $Properties {

                /** UpdatedObjectResult requestedPath */
                requestedPath?: (string|null);

                /** UpdatedObjectResult operStatus */
                operStatus?: (usp.SetResp.UpdatedObjectResult.OperationStatus.$Properties|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an UpdatedObjectResult. */
            type $Shape = {
              requestedPath?: string|null;
              operStatus?: usp.SetResp.UpdatedObjectResult.OperationStatus.$Shape|null;
              $unknowns?: Uint8Array[];
            };

            /**
             * Properties of an OperationStatus.
             * @deprecated Use usp.SetResp.UpdatedObjectResult.OperationStatus.$Properties instead.
             */
            interface IOperationStatus extends usp.SetResp.UpdatedObjectResult.OperationStatus.$Properties {
            }

            /** Represents an OperationStatus. */
            class OperationStatus {

                /**
                 * Constructs a new OperationStatus.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: usp.SetResp.UpdatedObjectResult.OperationStatus.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** OperationStatus operFailure. */
                operFailure?: (usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Properties|null);

                /** OperationStatus operSuccess. */
                operSuccess?: (usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Properties|null);

                /** OperationStatus operStatus. */
                operStatus?: ("operFailure"|"operSuccess");

                /**
                 * Creates a new OperationStatus instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns OperationStatus instance
                 */
                static create(properties: usp.SetResp.UpdatedObjectResult.OperationStatus.$Shape): usp.SetResp.UpdatedObjectResult.OperationStatus & usp.SetResp.UpdatedObjectResult.OperationStatus.$Shape;
                static create(properties?: usp.SetResp.UpdatedObjectResult.OperationStatus.$Properties): usp.SetResp.UpdatedObjectResult.OperationStatus;

                /**
                 * Encodes the specified OperationStatus message. Does not implicitly {@link usp.SetResp.UpdatedObjectResult.OperationStatus.verify|verify} messages.
                 * @param message OperationStatus message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: usp.SetResp.UpdatedObjectResult.OperationStatus.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes an OperationStatus message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {usp.SetResp.UpdatedObjectResult.OperationStatus & usp.SetResp.UpdatedObjectResult.OperationStatus.$Shape} OperationStatus
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.SetResp.UpdatedObjectResult.OperationStatus & usp.SetResp.UpdatedObjectResult.OperationStatus.$Shape;
            }

            namespace OperationStatus {

                /** Properties of an OperationStatus. */
                interface $Properties {

                    /** OperationStatus operFailure */
                    operFailure?: (usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Properties|null);

                    /** OperationStatus operSuccess */
                    operSuccess?: (usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Properties|null);

                    /** OperationStatus operStatus */
                    operStatus?: ("operFailure"|"operSuccess");

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Narrowed shape of an OperationStatus. */
                type $Shape = {
                  operFailure?: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Shape|null;
                  operSuccess?: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Shape|null;
                  $unknowns?: Uint8Array[];
                } & (
                  ({ operStatus?: undefined; operFailure?: null; operSuccess?: null }|{ operStatus?: "operFailure"; operFailure: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Shape; operSuccess?: null }|{ operStatus?: "operSuccess"; operFailure?: null; operSuccess: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Shape })
                );

                /**
                 * Properties of an OperationFailure.
                 * @deprecated Use usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Properties instead.
                 */
                interface IOperationFailure extends usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Properties {
                }

                /** Represents an OperationFailure. */
                class OperationFailure {

                    /**
                     * Constructs a new OperationFailure.
                     * @param [properties] Properties to set
                     */
                    constructor(properties?: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Properties);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];

                    /** OperationFailure errCode. */
                    errCode: number;

                    /** OperationFailure errMsg. */
                    errMsg: string;

                    /** OperationFailure updatedInstFailures. */
                    updatedInstFailures: usp.SetResp.UpdatedInstanceFailure.$Properties[];

                    /**
                     * Creates a new OperationFailure instance using the specified properties.
                     * @param [properties] Properties to set
                     * @returns OperationFailure instance
                     */
                    static create(properties: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Shape): usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure & usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Shape;
                    static create(properties?: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Properties): usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure;

                    /**
                     * Encodes the specified OperationFailure message. Does not implicitly {@link usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.verify|verify} messages.
                     * @param message OperationFailure message or plain object to encode
                     * @param [writer] Writer to encode to
                     * @returns Writer
                     */
                    static encode(message: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                    /**
                     * Decodes an OperationFailure message from the specified reader or buffer.
                     * @param reader Reader or buffer to decode from
                     * @param [length] Message length if known beforehand
                     * @returns {usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure & usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Shape} OperationFailure
                     * @throws {Error} If the payload is not a reader or valid buffer
                     * @throws {$protobuf.util.ProtocolError} If required fields are missing
                     */
                    static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure & usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Shape;
                }

                namespace OperationFailure {

                    /** Properties of an OperationFailure. */
                    interface $Properties {

                        /** OperationFailure errCode */
                        errCode?: (number|null);

                        /** OperationFailure errMsg */
                        errMsg?: (string|null);

                        /** OperationFailure updatedInstFailures */
                        updatedInstFailures?: (usp.SetResp.UpdatedInstanceFailure.$Properties[]|null);

                        /** Unknown fields preserved while decoding when enabled */
                        $unknowns?: Uint8Array[];
                    }

                    /** Shape of an OperationFailure. */
                    type $Shape = usp.SetResp.UpdatedObjectResult.OperationStatus.OperationFailure.$Properties;
                }

                /**
                 * Properties of an OperationSuccess.
                 * @deprecated Use usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Properties instead.
                 */
                interface IOperationSuccess extends usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Properties {
                }

                /** Represents an OperationSuccess. */
                class OperationSuccess {

                    /**
                     * Constructs a new OperationSuccess.
                     * @param [properties] Properties to set
                     */
                    constructor(properties?: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Properties);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];

                    /** OperationSuccess updatedInstResults. */
                    updatedInstResults: usp.SetResp.UpdatedInstanceResult.$Properties[];

                    /**
                     * Creates a new OperationSuccess instance using the specified properties.
                     * @param [properties] Properties to set
                     * @returns OperationSuccess instance
                     */
                    static create(properties: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Shape): usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess & usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Shape;
                    static create(properties?: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Properties): usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess;

                    /**
                     * Encodes the specified OperationSuccess message. Does not implicitly {@link usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.verify|verify} messages.
                     * @param message OperationSuccess message or plain object to encode
                     * @param [writer] Writer to encode to
                     * @returns Writer
                     */
                    static encode(message: usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                    /**
                     * Decodes an OperationSuccess message from the specified reader or buffer.
                     * @param reader Reader or buffer to decode from
                     * @param [length] Message length if known beforehand
                     * @returns {usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess & usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Shape} OperationSuccess
                     * @throws {Error} If the payload is not a reader or valid buffer
                     * @throws {$protobuf.util.ProtocolError} If required fields are missing
                     */
                    static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess & usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Shape;
                }

                namespace OperationSuccess {

                    /** Properties of an OperationSuccess. */
                    interface $Properties {

                        /** OperationSuccess updatedInstResults */
                        updatedInstResults?: (usp.SetResp.UpdatedInstanceResult.$Properties[]|null);

                        /** Unknown fields preserved while decoding when enabled */
                        $unknowns?: Uint8Array[];
                    }

                    /** Shape of an OperationSuccess. */
                    type $Shape = usp.SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess.$Properties;
                }
            }
        }

        /**
         * Properties of an UpdatedInstanceFailure.
         * @deprecated Use usp.SetResp.UpdatedInstanceFailure.$Properties instead.
         */
        interface IUpdatedInstanceFailure extends usp.SetResp.UpdatedInstanceFailure.$Properties {
        }

        /** Represents an UpdatedInstanceFailure. */
        class UpdatedInstanceFailure {

            /**
             * Constructs a new UpdatedInstanceFailure.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.SetResp.UpdatedInstanceFailure.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** UpdatedInstanceFailure affectedPath. */
            affectedPath: string;

            /** UpdatedInstanceFailure paramErrs. */
            paramErrs: usp.SetResp.ParameterError.$Properties[];

            /**
             * Creates a new UpdatedInstanceFailure instance using the specified properties.
             * @param [properties] Properties to set
             * @returns UpdatedInstanceFailure instance
             */
            static create(properties: usp.SetResp.UpdatedInstanceFailure.$Shape): usp.SetResp.UpdatedInstanceFailure & usp.SetResp.UpdatedInstanceFailure.$Shape;
            static create(properties?: usp.SetResp.UpdatedInstanceFailure.$Properties): usp.SetResp.UpdatedInstanceFailure;

            /**
             * Encodes the specified UpdatedInstanceFailure message. Does not implicitly {@link usp.SetResp.UpdatedInstanceFailure.verify|verify} messages.
             * @param message UpdatedInstanceFailure message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.SetResp.UpdatedInstanceFailure.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an UpdatedInstanceFailure message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.SetResp.UpdatedInstanceFailure & usp.SetResp.UpdatedInstanceFailure.$Shape} UpdatedInstanceFailure
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.SetResp.UpdatedInstanceFailure & usp.SetResp.UpdatedInstanceFailure.$Shape;
        }

        namespace UpdatedInstanceFailure {

            /** Properties of an UpdatedInstanceFailure. */
            interface $Properties {

                /** UpdatedInstanceFailure affectedPath */
                affectedPath?: (string|null);

                /** UpdatedInstanceFailure paramErrs */
                paramErrs?: (usp.SetResp.ParameterError.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an UpdatedInstanceFailure. */
            type $Shape = usp.SetResp.UpdatedInstanceFailure.$Properties;
        }

        /**
         * Properties of an UpdatedInstanceResult.
         * @deprecated Use usp.SetResp.UpdatedInstanceResult.$Properties instead.
         */
        interface IUpdatedInstanceResult extends usp.SetResp.UpdatedInstanceResult.$Properties {
        }

        /** Represents an UpdatedInstanceResult. */
        class UpdatedInstanceResult {

            /**
             * Constructs a new UpdatedInstanceResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.SetResp.UpdatedInstanceResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** UpdatedInstanceResult affectedPath. */
            affectedPath: string;

            /** UpdatedInstanceResult paramErrs. */
            paramErrs: usp.SetResp.ParameterError.$Properties[];

            /** UpdatedInstanceResult updatedParams. */
            updatedParams: { [k: string]: string };

            /**
             * Creates a new UpdatedInstanceResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns UpdatedInstanceResult instance
             */
            static create(properties: usp.SetResp.UpdatedInstanceResult.$Shape): usp.SetResp.UpdatedInstanceResult & usp.SetResp.UpdatedInstanceResult.$Shape;
            static create(properties?: usp.SetResp.UpdatedInstanceResult.$Properties): usp.SetResp.UpdatedInstanceResult;

            /**
             * Encodes the specified UpdatedInstanceResult message. Does not implicitly {@link usp.SetResp.UpdatedInstanceResult.verify|verify} messages.
             * @param message UpdatedInstanceResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.SetResp.UpdatedInstanceResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an UpdatedInstanceResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.SetResp.UpdatedInstanceResult & usp.SetResp.UpdatedInstanceResult.$Shape} UpdatedInstanceResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.SetResp.UpdatedInstanceResult & usp.SetResp.UpdatedInstanceResult.$Shape;
        }

        namespace UpdatedInstanceResult {

            /** Properties of an UpdatedInstanceResult. */
            interface $Properties {

                /** UpdatedInstanceResult affectedPath */
                affectedPath?: (string|null);

                /** UpdatedInstanceResult paramErrs */
                paramErrs?: (usp.SetResp.ParameterError.$Properties[]|null);

                /** UpdatedInstanceResult updatedParams */
                updatedParams?: ({ [k: string]: string }|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an UpdatedInstanceResult. */
            type $Shape = usp.SetResp.UpdatedInstanceResult.$Properties;
        }

        /**
         * Properties of a ParameterError.
         * @deprecated Use usp.SetResp.ParameterError.$Properties instead.
         */
        interface IParameterError extends usp.SetResp.ParameterError.$Properties {
        }

        /** Represents a ParameterError. */
        class ParameterError {

            /**
             * Constructs a new ParameterError.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.SetResp.ParameterError.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ParameterError param. */
            param: string;

            /** ParameterError errCode. */
            errCode: number;

            /** ParameterError errMsg. */
            errMsg: string;

            /**
             * Creates a new ParameterError instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ParameterError instance
             */
            static create(properties: usp.SetResp.ParameterError.$Shape): usp.SetResp.ParameterError & usp.SetResp.ParameterError.$Shape;
            static create(properties?: usp.SetResp.ParameterError.$Properties): usp.SetResp.ParameterError;

            /**
             * Encodes the specified ParameterError message. Does not implicitly {@link usp.SetResp.ParameterError.verify|verify} messages.
             * @param message ParameterError message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.SetResp.ParameterError.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ParameterError message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.SetResp.ParameterError & usp.SetResp.ParameterError.$Shape} ParameterError
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.SetResp.ParameterError & usp.SetResp.ParameterError.$Shape;
        }

        namespace ParameterError {

            /** Properties of a ParameterError. */
            interface $Properties {

                /** ParameterError param */
                param?: (string|null);

                /** ParameterError errCode */
                errCode?: (number|null);

                /** ParameterError errMsg */
                errMsg?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ParameterError. */
            type $Shape = usp.SetResp.ParameterError.$Properties;
        }
    }

    /**
     * Properties of an Operate.
     * @deprecated Use usp.Operate.$Properties instead.
     */
    interface IOperate extends usp.Operate.$Properties {
    }

    /** Represents an Operate. */
    class Operate {

        /**
         * Constructs a new Operate.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Operate.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Operate command. */
        command: string;

        /** Operate commandKey. */
        commandKey: string;

        /** Operate sendResp. */
        sendResp: boolean;

        /** Operate inputArgs. */
        inputArgs: { [k: string]: string };

        /**
         * Creates a new Operate instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Operate instance
         */
        static create(properties: usp.Operate.$Shape): usp.Operate & usp.Operate.$Shape;
        static create(properties?: usp.Operate.$Properties): usp.Operate;

        /**
         * Encodes the specified Operate message. Does not implicitly {@link usp.Operate.verify|verify} messages.
         * @param message Operate message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Operate.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes an Operate message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Operate & usp.Operate.$Shape} Operate
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Operate & usp.Operate.$Shape;
    }

    namespace Operate {

        /** Properties of an Operate. */
        interface $Properties {

            /** Operate command */
            command?: (string|null);

            /** Operate commandKey */
            commandKey?: (string|null);

            /** Operate sendResp */
            sendResp?: (boolean|null);

            /** Operate inputArgs */
            inputArgs?: ({ [k: string]: string }|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of an Operate. */
        type $Shape = usp.Operate.$Properties;
    }

    /**
     * Properties of an OperateResp.
     * @deprecated Use usp.OperateResp.$Properties instead.
     */
    interface IOperateResp extends usp.OperateResp.$Properties {
    }

    /** Represents an OperateResp. */
    class OperateResp {

        /**
         * Constructs a new OperateResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.OperateResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** OperateResp operationResults. */
        operationResults: usp.OperateResp.OperationResult.$Properties[];

        /**
         * Creates a new OperateResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns OperateResp instance
         */
        static create(properties: usp.OperateResp.$Shape): usp.OperateResp & usp.OperateResp.$Shape;
        static create(properties?: usp.OperateResp.$Properties): usp.OperateResp;

        /**
         * Encodes the specified OperateResp message. Does not implicitly {@link usp.OperateResp.verify|verify} messages.
         * @param message OperateResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.OperateResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes an OperateResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.OperateResp & usp.OperateResp.$Shape} OperateResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.OperateResp & usp.OperateResp.$Shape;
    }

    namespace OperateResp {

        /** Properties of an OperateResp. */
        interface $Properties {

            /** OperateResp operationResults */
            operationResults?: (usp.OperateResp.OperationResult.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of an OperateResp. */
        type $Shape = {
          operationResults?: usp.OperateResp.OperationResult.$Shape[]|null;
          $unknowns?: Uint8Array[];
        };

        /**
         * Properties of an OperationResult.
         * @deprecated Use usp.OperateResp.OperationResult.$Properties instead.
         */
        interface IOperationResult extends usp.OperateResp.OperationResult.$Properties {
        }

        /** Represents an OperationResult. */
        class OperationResult {

            /**
             * Constructs a new OperationResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.OperateResp.OperationResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** OperationResult executedCommand. */
            executedCommand: string;

            /** OperationResult reqObjPath. */
            reqObjPath?: (string|null);

            /** OperationResult reqOutputArgs. */
            reqOutputArgs?: (usp.OperateResp.OperationResult.OutputArgs.$Properties|null);

            /** OperationResult cmdFailure. */
            cmdFailure?: (usp.OperateResp.OperationResult.CommandFailure.$Properties|null);

            /** OperationResult operationResp. */
            operationResp?: ("reqObjPath"|"reqOutputArgs"|"cmdFailure");

            /**
             * Creates a new OperationResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns OperationResult instance
             */
            static create(properties: usp.OperateResp.OperationResult.$Shape): usp.OperateResp.OperationResult & usp.OperateResp.OperationResult.$Shape;
            static create(properties?: usp.OperateResp.OperationResult.$Properties): usp.OperateResp.OperationResult;

            /**
             * Encodes the specified OperationResult message. Does not implicitly {@link usp.OperateResp.OperationResult.verify|verify} messages.
             * @param message OperationResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.OperateResp.OperationResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an OperationResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.OperateResp.OperationResult & usp.OperateResp.OperationResult.$Shape} OperationResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.OperateResp.OperationResult & usp.OperateResp.OperationResult.$Shape;
        }

        namespace OperationResult {

            /** Properties of an OperationResult. */
            interface $Properties {

                /** OperationResult executedCommand */
                executedCommand?: (string|null);

                /** OperationResult reqObjPath */
                reqObjPath?: (string|null);

                /** OperationResult reqOutputArgs */
                reqOutputArgs?: (usp.OperateResp.OperationResult.OutputArgs.$Properties|null);

                /** OperationResult cmdFailure */
                cmdFailure?: (usp.OperateResp.OperationResult.CommandFailure.$Properties|null);

                /** OperationResult operationResp */
                operationResp?: ("reqObjPath"|"reqOutputArgs"|"cmdFailure");

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Narrowed shape of an OperationResult. */
            type $Shape = {
              executedCommand?: string|null;
              reqObjPath?: string|null;
              reqOutputArgs?: usp.OperateResp.OperationResult.OutputArgs.$Shape|null;
              cmdFailure?: usp.OperateResp.OperationResult.CommandFailure.$Shape|null;
              $unknowns?: Uint8Array[];
            } & (
              ({ operationResp?: undefined; reqObjPath?: null; reqOutputArgs?: null; cmdFailure?: null }|{ operationResp?: "reqObjPath"; reqObjPath: string; reqOutputArgs?: null; cmdFailure?: null }|{ operationResp?: "reqOutputArgs"; reqObjPath?: null; reqOutputArgs: usp.OperateResp.OperationResult.OutputArgs.$Shape; cmdFailure?: null }|{ operationResp?: "cmdFailure"; reqObjPath?: null; reqOutputArgs?: null; cmdFailure: usp.OperateResp.OperationResult.CommandFailure.$Shape })
            );

            /**
             * Properties of an OutputArgs.
             * @deprecated Use usp.OperateResp.OperationResult.OutputArgs.$Properties instead.
             */
            interface IOutputArgs extends usp.OperateResp.OperationResult.OutputArgs.$Properties {
            }

            /** Represents an OutputArgs. */
            class OutputArgs {

                /**
                 * Constructs a new OutputArgs.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: usp.OperateResp.OperationResult.OutputArgs.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** OutputArgs outputArgs. */
                outputArgs: { [k: string]: string };

                /**
                 * Creates a new OutputArgs instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns OutputArgs instance
                 */
                static create(properties: usp.OperateResp.OperationResult.OutputArgs.$Shape): usp.OperateResp.OperationResult.OutputArgs & usp.OperateResp.OperationResult.OutputArgs.$Shape;
                static create(properties?: usp.OperateResp.OperationResult.OutputArgs.$Properties): usp.OperateResp.OperationResult.OutputArgs;

                /**
                 * Encodes the specified OutputArgs message. Does not implicitly {@link usp.OperateResp.OperationResult.OutputArgs.verify|verify} messages.
                 * @param message OutputArgs message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: usp.OperateResp.OperationResult.OutputArgs.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes an OutputArgs message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {usp.OperateResp.OperationResult.OutputArgs & usp.OperateResp.OperationResult.OutputArgs.$Shape} OutputArgs
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.OperateResp.OperationResult.OutputArgs & usp.OperateResp.OperationResult.OutputArgs.$Shape;
            }

            namespace OutputArgs {

                /** Properties of an OutputArgs. */
                interface $Properties {

                    /** OutputArgs outputArgs */
                    outputArgs?: ({ [k: string]: string }|null);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Shape of an OutputArgs. */
                type $Shape = usp.OperateResp.OperationResult.OutputArgs.$Properties;
            }

            /**
             * Properties of a CommandFailure.
             * @deprecated Use usp.OperateResp.OperationResult.CommandFailure.$Properties instead.
             */
            interface ICommandFailure extends usp.OperateResp.OperationResult.CommandFailure.$Properties {
            }

            /** Represents a CommandFailure. */
            class CommandFailure {

                /**
                 * Constructs a new CommandFailure.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: usp.OperateResp.OperationResult.CommandFailure.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** CommandFailure errCode. */
                errCode: number;

                /** CommandFailure errMsg. */
                errMsg: string;

                /**
                 * Creates a new CommandFailure instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns CommandFailure instance
                 */
                static create(properties: usp.OperateResp.OperationResult.CommandFailure.$Shape): usp.OperateResp.OperationResult.CommandFailure & usp.OperateResp.OperationResult.CommandFailure.$Shape;
                static create(properties?: usp.OperateResp.OperationResult.CommandFailure.$Properties): usp.OperateResp.OperationResult.CommandFailure;

                /**
                 * Encodes the specified CommandFailure message. Does not implicitly {@link usp.OperateResp.OperationResult.CommandFailure.verify|verify} messages.
                 * @param message CommandFailure message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: usp.OperateResp.OperationResult.CommandFailure.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes a CommandFailure message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {usp.OperateResp.OperationResult.CommandFailure & usp.OperateResp.OperationResult.CommandFailure.$Shape} CommandFailure
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.OperateResp.OperationResult.CommandFailure & usp.OperateResp.OperationResult.CommandFailure.$Shape;
            }

            namespace CommandFailure {

                /** Properties of a CommandFailure. */
                interface $Properties {

                    /** CommandFailure errCode */
                    errCode?: (number|null);

                    /** CommandFailure errMsg */
                    errMsg?: (string|null);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Shape of a CommandFailure. */
                type $Shape = usp.OperateResp.OperationResult.CommandFailure.$Properties;
            }
        }
    }

    /**
     * Properties of a Notify.
     * @deprecated Use usp.Notify.$Properties instead.
     */
    interface INotify extends usp.Notify.$Properties {
    }

    /** Represents a Notify. */
    class Notify {

        /**
         * Constructs a new Notify.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Notify.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Notify subscriptionId. */
        subscriptionId: string;

        /** Notify sendResp. */
        sendResp: boolean;

        /** Notify event. */
        event?: (usp.Notify.Event.$Properties|null);

        /** Notify valueChange. */
        valueChange?: (usp.Notify.ValueChange.$Properties|null);

        /** Notify objCreation. */
        objCreation?: (usp.Notify.ObjectCreation.$Properties|null);

        /** Notify objDeletion. */
        objDeletion?: (usp.Notify.ObjectDeletion.$Properties|null);

        /** Notify operComplete. */
        operComplete?: (usp.Notify.OperationComplete.$Properties|null);

        /** Notify onBoardReq. */
        onBoardReq?: (usp.Notify.OnBoardRequest.$Properties|null);

        /** Notify notification. */
        notification?: ("event"|"valueChange"|"objCreation"|"objDeletion"|"operComplete"|"onBoardReq");

        /**
         * Creates a new Notify instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Notify instance
         */
        static create(properties: usp.Notify.$Shape): usp.Notify & usp.Notify.$Shape;
        static create(properties?: usp.Notify.$Properties): usp.Notify;

        /**
         * Encodes the specified Notify message. Does not implicitly {@link usp.Notify.verify|verify} messages.
         * @param message Notify message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Notify.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Notify message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Notify & usp.Notify.$Shape} Notify
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Notify & usp.Notify.$Shape;
    }

    namespace Notify {

        /** Properties of a Notify. */
        interface $Properties {

            /** Notify subscriptionId */
            subscriptionId?: (string|null);

            /** Notify sendResp */
            sendResp?: (boolean|null);

            /** Notify event */
            event?: (usp.Notify.Event.$Properties|null);

            /** Notify valueChange */
            valueChange?: (usp.Notify.ValueChange.$Properties|null);

            /** Notify objCreation */
            objCreation?: (usp.Notify.ObjectCreation.$Properties|null);

            /** Notify objDeletion */
            objDeletion?: (usp.Notify.ObjectDeletion.$Properties|null);

            /** Notify operComplete */
            operComplete?: (usp.Notify.OperationComplete.$Properties|null);

            /** Notify onBoardReq */
            onBoardReq?: (usp.Notify.OnBoardRequest.$Properties|null);

            /** Notify notification */
            notification?: ("event"|"valueChange"|"objCreation"|"objDeletion"|"operComplete"|"onBoardReq");

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Narrowed shape of a Notify. */
        type $Shape = {
          subscriptionId?: string|null;
          sendResp?: boolean|null;
          event?: usp.Notify.Event.$Shape|null;
          valueChange?: usp.Notify.ValueChange.$Shape|null;
          objCreation?: usp.Notify.ObjectCreation.$Shape|null;
          objDeletion?: usp.Notify.ObjectDeletion.$Shape|null;
          operComplete?: usp.Notify.OperationComplete.$Shape|null;
          onBoardReq?: usp.Notify.OnBoardRequest.$Shape|null;
          $unknowns?: Uint8Array[];
        } & (
          ({ notification?: undefined; event?: null; valueChange?: null; objCreation?: null; objDeletion?: null; operComplete?: null; onBoardReq?: null }|{ notification?: "event"; event: usp.Notify.Event.$Shape; valueChange?: null; objCreation?: null; objDeletion?: null; operComplete?: null; onBoardReq?: null }|{ notification?: "valueChange"; event?: null; valueChange: usp.Notify.ValueChange.$Shape; objCreation?: null; objDeletion?: null; operComplete?: null; onBoardReq?: null }|{ notification?: "objCreation"; event?: null; valueChange?: null; objCreation: usp.Notify.ObjectCreation.$Shape; objDeletion?: null; operComplete?: null; onBoardReq?: null }|{ notification?: "objDeletion"; event?: null; valueChange?: null; objCreation?: null; objDeletion: usp.Notify.ObjectDeletion.$Shape; operComplete?: null; onBoardReq?: null }|{ notification?: "operComplete"; event?: null; valueChange?: null; objCreation?: null; objDeletion?: null; operComplete: usp.Notify.OperationComplete.$Shape; onBoardReq?: null }|{ notification?: "onBoardReq"; event?: null; valueChange?: null; objCreation?: null; objDeletion?: null; operComplete?: null; onBoardReq: usp.Notify.OnBoardRequest.$Shape })
        );

        /**
         * Properties of an Event.
         * @deprecated Use usp.Notify.Event.$Properties instead.
         */
        interface IEvent extends usp.Notify.Event.$Properties {
        }

        /** Represents an Event. */
        class Event {

            /**
             * Constructs a new Event.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Notify.Event.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Event objPath. */
            objPath: string;

            /** Event eventName. */
            eventName: string;

            /** Event params. */
            params: { [k: string]: string };

            /**
             * Creates a new Event instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Event instance
             */
            static create(properties: usp.Notify.Event.$Shape): usp.Notify.Event & usp.Notify.Event.$Shape;
            static create(properties?: usp.Notify.Event.$Properties): usp.Notify.Event;

            /**
             * Encodes the specified Event message. Does not implicitly {@link usp.Notify.Event.verify|verify} messages.
             * @param message Event message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Notify.Event.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an Event message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Notify.Event & usp.Notify.Event.$Shape} Event
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Notify.Event & usp.Notify.Event.$Shape;
        }

        namespace Event {

            /** Properties of an Event. */
            interface $Properties {

                /** Event objPath */
                objPath?: (string|null);

                /** Event eventName */
                eventName?: (string|null);

                /** Event params */
                params?: ({ [k: string]: string }|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an Event. */
            type $Shape = usp.Notify.Event.$Properties;
        }

        /**
         * Properties of a ValueChange.
         * @deprecated Use usp.Notify.ValueChange.$Properties instead.
         */
        interface IValueChange extends usp.Notify.ValueChange.$Properties {
        }

        /** Represents a ValueChange. */
        class ValueChange {

            /**
             * Constructs a new ValueChange.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Notify.ValueChange.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ValueChange paramPath. */
            paramPath: string;

            /** ValueChange paramValue. */
            paramValue: string;

            /**
             * Creates a new ValueChange instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ValueChange instance
             */
            static create(properties: usp.Notify.ValueChange.$Shape): usp.Notify.ValueChange & usp.Notify.ValueChange.$Shape;
            static create(properties?: usp.Notify.ValueChange.$Properties): usp.Notify.ValueChange;

            /**
             * Encodes the specified ValueChange message. Does not implicitly {@link usp.Notify.ValueChange.verify|verify} messages.
             * @param message ValueChange message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Notify.ValueChange.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a ValueChange message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Notify.ValueChange & usp.Notify.ValueChange.$Shape} ValueChange
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Notify.ValueChange & usp.Notify.ValueChange.$Shape;
        }

        namespace ValueChange {

            /** Properties of a ValueChange. */
            interface $Properties {

                /** ValueChange paramPath */
                paramPath?: (string|null);

                /** ValueChange paramValue */
                paramValue?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a ValueChange. */
            type $Shape = usp.Notify.ValueChange.$Properties;
        }

        /**
         * Properties of an ObjectCreation.
         * @deprecated Use usp.Notify.ObjectCreation.$Properties instead.
         */
        interface IObjectCreation extends usp.Notify.ObjectCreation.$Properties {
        }

        /** Represents an ObjectCreation. */
        class ObjectCreation {

            /**
             * Constructs a new ObjectCreation.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Notify.ObjectCreation.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ObjectCreation objPath. */
            objPath: string;

            /** ObjectCreation uniqueKeys. */
            uniqueKeys: { [k: string]: string };

            /**
             * Creates a new ObjectCreation instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ObjectCreation instance
             */
            static create(properties: usp.Notify.ObjectCreation.$Shape): usp.Notify.ObjectCreation & usp.Notify.ObjectCreation.$Shape;
            static create(properties?: usp.Notify.ObjectCreation.$Properties): usp.Notify.ObjectCreation;

            /**
             * Encodes the specified ObjectCreation message. Does not implicitly {@link usp.Notify.ObjectCreation.verify|verify} messages.
             * @param message ObjectCreation message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Notify.ObjectCreation.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an ObjectCreation message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Notify.ObjectCreation & usp.Notify.ObjectCreation.$Shape} ObjectCreation
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Notify.ObjectCreation & usp.Notify.ObjectCreation.$Shape;
        }

        namespace ObjectCreation {

            /** Properties of an ObjectCreation. */
            interface $Properties {

                /** ObjectCreation objPath */
                objPath?: (string|null);

                /** ObjectCreation uniqueKeys */
                uniqueKeys?: ({ [k: string]: string }|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an ObjectCreation. */
            type $Shape = usp.Notify.ObjectCreation.$Properties;
        }

        /**
         * Properties of an ObjectDeletion.
         * @deprecated Use usp.Notify.ObjectDeletion.$Properties instead.
         */
        interface IObjectDeletion extends usp.Notify.ObjectDeletion.$Properties {
        }

        /** Represents an ObjectDeletion. */
        class ObjectDeletion {

            /**
             * Constructs a new ObjectDeletion.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Notify.ObjectDeletion.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** ObjectDeletion objPath. */
            objPath: string;

            /**
             * Creates a new ObjectDeletion instance using the specified properties.
             * @param [properties] Properties to set
             * @returns ObjectDeletion instance
             */
            static create(properties: usp.Notify.ObjectDeletion.$Shape): usp.Notify.ObjectDeletion & usp.Notify.ObjectDeletion.$Shape;
            static create(properties?: usp.Notify.ObjectDeletion.$Properties): usp.Notify.ObjectDeletion;

            /**
             * Encodes the specified ObjectDeletion message. Does not implicitly {@link usp.Notify.ObjectDeletion.verify|verify} messages.
             * @param message ObjectDeletion message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Notify.ObjectDeletion.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an ObjectDeletion message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Notify.ObjectDeletion & usp.Notify.ObjectDeletion.$Shape} ObjectDeletion
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Notify.ObjectDeletion & usp.Notify.ObjectDeletion.$Shape;
        }

        namespace ObjectDeletion {

            /** Properties of an ObjectDeletion. */
            interface $Properties {

                /** ObjectDeletion objPath */
                objPath?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an ObjectDeletion. */
            type $Shape = usp.Notify.ObjectDeletion.$Properties;
        }

        /**
         * Properties of an OperationComplete.
         * @deprecated Use usp.Notify.OperationComplete.$Properties instead.
         */
        interface IOperationComplete extends usp.Notify.OperationComplete.$Properties {
        }

        /** Represents an OperationComplete. */
        class OperationComplete {

            /**
             * Constructs a new OperationComplete.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Notify.OperationComplete.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** OperationComplete objPath. */
            objPath: string;

            /** OperationComplete commandName. */
            commandName: string;

            /** OperationComplete commandKey. */
            commandKey: string;

            /** OperationComplete reqOutputArgs. */
            reqOutputArgs?: (usp.Notify.OperationComplete.OutputArgs.$Properties|null);

            /** OperationComplete cmdFailure. */
            cmdFailure?: (usp.Notify.OperationComplete.CommandFailure.$Properties|null);

            /** OperationComplete operationResp. */
            operationResp?: ("reqOutputArgs"|"cmdFailure");

            /**
             * Creates a new OperationComplete instance using the specified properties.
             * @param [properties] Properties to set
             * @returns OperationComplete instance
             */
            static create(properties: usp.Notify.OperationComplete.$Shape): usp.Notify.OperationComplete & usp.Notify.OperationComplete.$Shape;
            static create(properties?: usp.Notify.OperationComplete.$Properties): usp.Notify.OperationComplete;

            /**
             * Encodes the specified OperationComplete message. Does not implicitly {@link usp.Notify.OperationComplete.verify|verify} messages.
             * @param message OperationComplete message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Notify.OperationComplete.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an OperationComplete message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Notify.OperationComplete & usp.Notify.OperationComplete.$Shape} OperationComplete
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Notify.OperationComplete & usp.Notify.OperationComplete.$Shape;
        }

        namespace OperationComplete {

            /** Properties of an OperationComplete. */
            interface $Properties {

                /** OperationComplete objPath */
                objPath?: (string|null);

                /** OperationComplete commandName */
                commandName?: (string|null);

                /** OperationComplete commandKey */
                commandKey?: (string|null);

                /** OperationComplete reqOutputArgs */
                reqOutputArgs?: (usp.Notify.OperationComplete.OutputArgs.$Properties|null);

                /** OperationComplete cmdFailure */
                cmdFailure?: (usp.Notify.OperationComplete.CommandFailure.$Properties|null);

                /** OperationComplete operationResp */
                operationResp?: ("reqOutputArgs"|"cmdFailure");

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Narrowed shape of an OperationComplete. */
            type $Shape = {
              objPath?: string|null;
              commandName?: string|null;
              commandKey?: string|null;
              reqOutputArgs?: usp.Notify.OperationComplete.OutputArgs.$Shape|null;
              cmdFailure?: usp.Notify.OperationComplete.CommandFailure.$Shape|null;
              $unknowns?: Uint8Array[];
            } & (
              ({ operationResp?: undefined; reqOutputArgs?: null; cmdFailure?: null }|{ operationResp?: "reqOutputArgs"; reqOutputArgs: usp.Notify.OperationComplete.OutputArgs.$Shape; cmdFailure?: null }|{ operationResp?: "cmdFailure"; reqOutputArgs?: null; cmdFailure: usp.Notify.OperationComplete.CommandFailure.$Shape })
            );

            /**
             * Properties of an OutputArgs.
             * @deprecated Use usp.Notify.OperationComplete.OutputArgs.$Properties instead.
             */
            interface IOutputArgs extends usp.Notify.OperationComplete.OutputArgs.$Properties {
            }

            /** Represents an OutputArgs. */
            class OutputArgs {

                /**
                 * Constructs a new OutputArgs.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: usp.Notify.OperationComplete.OutputArgs.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** OutputArgs outputArgs. */
                outputArgs: { [k: string]: string };

                /**
                 * Creates a new OutputArgs instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns OutputArgs instance
                 */
                static create(properties: usp.Notify.OperationComplete.OutputArgs.$Shape): usp.Notify.OperationComplete.OutputArgs & usp.Notify.OperationComplete.OutputArgs.$Shape;
                static create(properties?: usp.Notify.OperationComplete.OutputArgs.$Properties): usp.Notify.OperationComplete.OutputArgs;

                /**
                 * Encodes the specified OutputArgs message. Does not implicitly {@link usp.Notify.OperationComplete.OutputArgs.verify|verify} messages.
                 * @param message OutputArgs message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: usp.Notify.OperationComplete.OutputArgs.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes an OutputArgs message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {usp.Notify.OperationComplete.OutputArgs & usp.Notify.OperationComplete.OutputArgs.$Shape} OutputArgs
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Notify.OperationComplete.OutputArgs & usp.Notify.OperationComplete.OutputArgs.$Shape;
            }

            namespace OutputArgs {

                /** Properties of an OutputArgs. */
                interface $Properties {

                    /** OutputArgs outputArgs */
                    outputArgs?: ({ [k: string]: string }|null);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Shape of an OutputArgs. */
                type $Shape = usp.Notify.OperationComplete.OutputArgs.$Properties;
            }

            /**
             * Properties of a CommandFailure.
             * @deprecated Use usp.Notify.OperationComplete.CommandFailure.$Properties instead.
             */
            interface ICommandFailure extends usp.Notify.OperationComplete.CommandFailure.$Properties {
            }

            /** Represents a CommandFailure. */
            class CommandFailure {

                /**
                 * Constructs a new CommandFailure.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: usp.Notify.OperationComplete.CommandFailure.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** CommandFailure errCode. */
                errCode: number;

                /** CommandFailure errMsg. */
                errMsg: string;

                /**
                 * Creates a new CommandFailure instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns CommandFailure instance
                 */
                static create(properties: usp.Notify.OperationComplete.CommandFailure.$Shape): usp.Notify.OperationComplete.CommandFailure & usp.Notify.OperationComplete.CommandFailure.$Shape;
                static create(properties?: usp.Notify.OperationComplete.CommandFailure.$Properties): usp.Notify.OperationComplete.CommandFailure;

                /**
                 * Encodes the specified CommandFailure message. Does not implicitly {@link usp.Notify.OperationComplete.CommandFailure.verify|verify} messages.
                 * @param message CommandFailure message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: usp.Notify.OperationComplete.CommandFailure.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes a CommandFailure message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {usp.Notify.OperationComplete.CommandFailure & usp.Notify.OperationComplete.CommandFailure.$Shape} CommandFailure
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Notify.OperationComplete.CommandFailure & usp.Notify.OperationComplete.CommandFailure.$Shape;
            }

            namespace CommandFailure {

                /** Properties of a CommandFailure. */
                interface $Properties {

                    /** CommandFailure errCode */
                    errCode?: (number|null);

                    /** CommandFailure errMsg */
                    errMsg?: (string|null);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Shape of a CommandFailure. */
                type $Shape = usp.Notify.OperationComplete.CommandFailure.$Properties;
            }
        }

        /**
         * Properties of an OnBoardRequest.
         * @deprecated Use usp.Notify.OnBoardRequest.$Properties instead.
         */
        interface IOnBoardRequest extends usp.Notify.OnBoardRequest.$Properties {
        }

        /** Represents an OnBoardRequest. */
        class OnBoardRequest {

            /**
             * Constructs a new OnBoardRequest.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Notify.OnBoardRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** OnBoardRequest oui. */
            oui: string;

            /** OnBoardRequest productClass. */
            productClass: string;

            /** OnBoardRequest serialNumber. */
            serialNumber: string;

            /** OnBoardRequest agentSupportedProtocolVersions. */
            agentSupportedProtocolVersions: string;

            /**
             * Creates a new OnBoardRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns OnBoardRequest instance
             */
            static create(properties: usp.Notify.OnBoardRequest.$Shape): usp.Notify.OnBoardRequest & usp.Notify.OnBoardRequest.$Shape;
            static create(properties?: usp.Notify.OnBoardRequest.$Properties): usp.Notify.OnBoardRequest;

            /**
             * Encodes the specified OnBoardRequest message. Does not implicitly {@link usp.Notify.OnBoardRequest.verify|verify} messages.
             * @param message OnBoardRequest message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Notify.OnBoardRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an OnBoardRequest message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Notify.OnBoardRequest & usp.Notify.OnBoardRequest.$Shape} OnBoardRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Notify.OnBoardRequest & usp.Notify.OnBoardRequest.$Shape;
        }

        namespace OnBoardRequest {

            /** Properties of an OnBoardRequest. */
            interface $Properties {

                /** OnBoardRequest oui */
                oui?: (string|null);

                /** OnBoardRequest productClass */
                productClass?: (string|null);

                /** OnBoardRequest serialNumber */
                serialNumber?: (string|null);

                /** OnBoardRequest agentSupportedProtocolVersions */
                agentSupportedProtocolVersions?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an OnBoardRequest. */
            type $Shape = usp.Notify.OnBoardRequest.$Properties;
        }
    }

    /**
     * Properties of a NotifyResp.
     * @deprecated Use usp.NotifyResp.$Properties instead.
     */
    interface INotifyResp extends usp.NotifyResp.$Properties {
    }

    /** Represents a NotifyResp. */
    class NotifyResp {

        /**
         * Constructs a new NotifyResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.NotifyResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** NotifyResp subscriptionId. */
        subscriptionId: string;

        /**
         * Creates a new NotifyResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns NotifyResp instance
         */
        static create(properties: usp.NotifyResp.$Shape): usp.NotifyResp & usp.NotifyResp.$Shape;
        static create(properties?: usp.NotifyResp.$Properties): usp.NotifyResp;

        /**
         * Encodes the specified NotifyResp message. Does not implicitly {@link usp.NotifyResp.verify|verify} messages.
         * @param message NotifyResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.NotifyResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a NotifyResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.NotifyResp & usp.NotifyResp.$Shape} NotifyResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.NotifyResp & usp.NotifyResp.$Shape;
    }

    namespace NotifyResp {

        /** Properties of a NotifyResp. */
        interface $Properties {

            /** NotifyResp subscriptionId */
            subscriptionId?: (string|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a NotifyResp. */
        type $Shape = usp.NotifyResp.$Properties;
    }

    /**
     * Properties of a Register.
     * @deprecated Use usp.Register.$Properties instead.
     */
    interface IRegister extends usp.Register.$Properties {
    }

    /** Represents a Register. */
    class Register {

        /**
         * Constructs a new Register.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Register.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Register allowPartial. */
        allowPartial: boolean;

        /** Register regPaths. */
        regPaths: usp.Register.RegistrationPath.$Properties[];

        /**
         * Creates a new Register instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Register instance
         */
        static create(properties: usp.Register.$Shape): usp.Register & usp.Register.$Shape;
        static create(properties?: usp.Register.$Properties): usp.Register;

        /**
         * Encodes the specified Register message. Does not implicitly {@link usp.Register.verify|verify} messages.
         * @param message Register message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Register.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Register message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Register & usp.Register.$Shape} Register
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Register & usp.Register.$Shape;
    }

    namespace Register {

        /** Properties of a Register. */
        interface $Properties {

            /** Register allowPartial */
            allowPartial?: (boolean|null);

            /** Register regPaths */
            regPaths?: (usp.Register.RegistrationPath.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Register. */
        type $Shape = usp.Register.$Properties;

        /**
         * Properties of a RegistrationPath.
         * @deprecated Use usp.Register.RegistrationPath.$Properties instead.
         */
        interface IRegistrationPath extends usp.Register.RegistrationPath.$Properties {
        }

        /** Represents a RegistrationPath. */
        class RegistrationPath {

            /**
             * Constructs a new RegistrationPath.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.Register.RegistrationPath.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** RegistrationPath path. */
            path: string;

            /**
             * Creates a new RegistrationPath instance using the specified properties.
             * @param [properties] Properties to set
             * @returns RegistrationPath instance
             */
            static create(properties: usp.Register.RegistrationPath.$Shape): usp.Register.RegistrationPath & usp.Register.RegistrationPath.$Shape;
            static create(properties?: usp.Register.RegistrationPath.$Properties): usp.Register.RegistrationPath;

            /**
             * Encodes the specified RegistrationPath message. Does not implicitly {@link usp.Register.RegistrationPath.verify|verify} messages.
             * @param message RegistrationPath message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.Register.RegistrationPath.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a RegistrationPath message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.Register.RegistrationPath & usp.Register.RegistrationPath.$Shape} RegistrationPath
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Register.RegistrationPath & usp.Register.RegistrationPath.$Shape;
        }

        namespace RegistrationPath {

            /** Properties of a RegistrationPath. */
            interface $Properties {

                /** RegistrationPath path */
                path?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a RegistrationPath. */
            type $Shape = usp.Register.RegistrationPath.$Properties;
        }
    }

    /**
     * Properties of a RegisterResp.
     * @deprecated Use usp.RegisterResp.$Properties instead.
     */
    interface IRegisterResp extends usp.RegisterResp.$Properties {
    }

    /** Represents a RegisterResp. */
    class RegisterResp {

        /**
         * Constructs a new RegisterResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.RegisterResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** RegisterResp registeredPathResults. */
        registeredPathResults: usp.RegisterResp.RegisteredPathResult.$Properties[];

        /**
         * Creates a new RegisterResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns RegisterResp instance
         */
        static create(properties: usp.RegisterResp.$Shape): usp.RegisterResp & usp.RegisterResp.$Shape;
        static create(properties?: usp.RegisterResp.$Properties): usp.RegisterResp;

        /**
         * Encodes the specified RegisterResp message. Does not implicitly {@link usp.RegisterResp.verify|verify} messages.
         * @param message RegisterResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.RegisterResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a RegisterResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.RegisterResp & usp.RegisterResp.$Shape} RegisterResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.RegisterResp & usp.RegisterResp.$Shape;
    }

    namespace RegisterResp {

        /** Properties of a RegisterResp. */
        interface $Properties {

            /** RegisterResp registeredPathResults */
            registeredPathResults?: (usp.RegisterResp.RegisteredPathResult.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a RegisterResp. */
        type $Shape = {
          registeredPathResults?: usp.RegisterResp.RegisteredPathResult.$Shape[]|null;
          $unknowns?: Uint8Array[];
        };

        /**
         * Properties of a RegisteredPathResult.
         * @deprecated Use usp.RegisterResp.RegisteredPathResult.$Properties instead.
         */
        interface IRegisteredPathResult extends usp.RegisterResp.RegisteredPathResult.$Properties {
        }

        /** Represents a RegisteredPathResult. */
        class RegisteredPathResult {

            /**
             * Constructs a new RegisteredPathResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.RegisterResp.RegisteredPathResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** RegisteredPathResult requestedPath. */
            requestedPath: string;

            /** RegisteredPathResult operStatus. */
            operStatus?: (usp.RegisterResp.RegisteredPathResult.OperationStatus.$Properties|null);

            /**
             * Creates a new RegisteredPathResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns RegisteredPathResult instance
             */
            static create(properties: usp.RegisterResp.RegisteredPathResult.$Shape): usp.RegisterResp.RegisteredPathResult & usp.RegisterResp.RegisteredPathResult.$Shape;
            static create(properties?: usp.RegisterResp.RegisteredPathResult.$Properties): usp.RegisterResp.RegisteredPathResult;

            /**
             * Encodes the specified RegisteredPathResult message. Does not implicitly {@link usp.RegisterResp.RegisteredPathResult.verify|verify} messages.
             * @param message RegisteredPathResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.RegisterResp.RegisteredPathResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a RegisteredPathResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.RegisterResp.RegisteredPathResult & usp.RegisterResp.RegisteredPathResult.$Shape} RegisteredPathResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.RegisterResp.RegisteredPathResult & usp.RegisterResp.RegisteredPathResult.$Shape;
        }

        namespace RegisteredPathResult {

            /** Properties of a RegisteredPathResult. */
            interface $Properties {

                /** RegisteredPathResult requestedPath */
                requestedPath?: (string|null);

                /** RegisteredPathResult operStatus */
                operStatus?: (usp.RegisterResp.RegisteredPathResult.OperationStatus.$Properties|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a RegisteredPathResult. */
            type $Shape = {
              requestedPath?: string|null;
              operStatus?: usp.RegisterResp.RegisteredPathResult.OperationStatus.$Shape|null;
              $unknowns?: Uint8Array[];
            };

            /**
             * Properties of an OperationStatus.
             * @deprecated Use usp.RegisterResp.RegisteredPathResult.OperationStatus.$Properties instead.
             */
            interface IOperationStatus extends usp.RegisterResp.RegisteredPathResult.OperationStatus.$Properties {
            }

            /** Represents an OperationStatus. */
            class OperationStatus {

                /**
                 * Constructs a new OperationStatus.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: usp.RegisterResp.RegisteredPathResult.OperationStatus.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** OperationStatus operFailure. */
                operFailure?: (usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Properties|null);

                /** OperationStatus operSuccess. */
                operSuccess?: (usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Properties|null);

                /** OperationStatus operStatus. */
                operStatus?: ("operFailure"|"operSuccess");

                /**
                 * Creates a new OperationStatus instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns OperationStatus instance
                 */
                static create(properties: usp.RegisterResp.RegisteredPathResult.OperationStatus.$Shape): usp.RegisterResp.RegisteredPathResult.OperationStatus & usp.RegisterResp.RegisteredPathResult.OperationStatus.$Shape;
                static create(properties?: usp.RegisterResp.RegisteredPathResult.OperationStatus.$Properties): usp.RegisterResp.RegisteredPathResult.OperationStatus;

                /**
                 * Encodes the specified OperationStatus message. Does not implicitly {@link usp.RegisterResp.RegisteredPathResult.OperationStatus.verify|verify} messages.
                 * @param message OperationStatus message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: usp.RegisterResp.RegisteredPathResult.OperationStatus.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes an OperationStatus message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {usp.RegisterResp.RegisteredPathResult.OperationStatus & usp.RegisterResp.RegisteredPathResult.OperationStatus.$Shape} OperationStatus
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.RegisterResp.RegisteredPathResult.OperationStatus & usp.RegisterResp.RegisteredPathResult.OperationStatus.$Shape;
            }

            namespace OperationStatus {

                /** Properties of an OperationStatus. */
                interface $Properties {

                    /** OperationStatus operFailure */
                    operFailure?: (usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Properties|null);

                    /** OperationStatus operSuccess */
                    operSuccess?: (usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Properties|null);

                    /** OperationStatus operStatus */
                    operStatus?: ("operFailure"|"operSuccess");

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Narrowed shape of an OperationStatus. */
                type $Shape = {
                  operFailure?: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Shape|null;
                  operSuccess?: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Shape|null;
                  $unknowns?: Uint8Array[];
                } & (
                  ({ operStatus?: undefined; operFailure?: null; operSuccess?: null }|{ operStatus?: "operFailure"; operFailure: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Shape; operSuccess?: null }|{ operStatus?: "operSuccess"; operFailure?: null; operSuccess: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Shape })
                );

                /**
                 * Properties of an OperationFailure.
                 * @deprecated Use usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Properties instead.
                 */
                interface IOperationFailure extends usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Properties {
                }

                /** Represents an OperationFailure. */
                class OperationFailure {

                    /**
                     * Constructs a new OperationFailure.
                     * @param [properties] Properties to set
                     */
                    constructor(properties?: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Properties);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];

                    /** OperationFailure errCode. */
                    errCode: number;

                    /** OperationFailure errMsg. */
                    errMsg: string;

                    /**
                     * Creates a new OperationFailure instance using the specified properties.
                     * @param [properties] Properties to set
                     * @returns OperationFailure instance
                     */
                    static create(properties: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Shape): usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure & usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Shape;
                    static create(properties?: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Properties): usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure;

                    /**
                     * Encodes the specified OperationFailure message. Does not implicitly {@link usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.verify|verify} messages.
                     * @param message OperationFailure message or plain object to encode
                     * @param [writer] Writer to encode to
                     * @returns Writer
                     */
                    static encode(message: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                    /**
                     * Decodes an OperationFailure message from the specified reader or buffer.
                     * @param reader Reader or buffer to decode from
                     * @param [length] Message length if known beforehand
                     * @returns {usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure & usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Shape} OperationFailure
                     * @throws {Error} If the payload is not a reader or valid buffer
                     * @throws {$protobuf.util.ProtocolError} If required fields are missing
                     */
                    static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure & usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Shape;
                }

                namespace OperationFailure {

                    /** Properties of an OperationFailure. */
                    interface $Properties {

                        /** OperationFailure errCode */
                        errCode?: (number|null);

                        /** OperationFailure errMsg */
                        errMsg?: (string|null);

                        /** Unknown fields preserved while decoding when enabled */
                        $unknowns?: Uint8Array[];
                    }

                    /** Shape of an OperationFailure. */
                    type $Shape = usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationFailure.$Properties;
                }

                /**
                 * Properties of an OperationSuccess.
                 * @deprecated Use usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Properties instead.
                 */
                interface IOperationSuccess extends usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Properties {
                }

                /** Represents an OperationSuccess. */
                class OperationSuccess {

                    /**
                     * Constructs a new OperationSuccess.
                     * @param [properties] Properties to set
                     */
                    constructor(properties?: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Properties);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];

                    /** OperationSuccess registeredPath. */
                    registeredPath: string;

                    /**
                     * Creates a new OperationSuccess instance using the specified properties.
                     * @param [properties] Properties to set
                     * @returns OperationSuccess instance
                     */
                    static create(properties: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Shape): usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess & usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Shape;
                    static create(properties?: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Properties): usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess;

                    /**
                     * Encodes the specified OperationSuccess message. Does not implicitly {@link usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.verify|verify} messages.
                     * @param message OperationSuccess message or plain object to encode
                     * @param [writer] Writer to encode to
                     * @returns Writer
                     */
                    static encode(message: usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                    /**
                     * Decodes an OperationSuccess message from the specified reader or buffer.
                     * @param reader Reader or buffer to decode from
                     * @param [length] Message length if known beforehand
                     * @returns {usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess & usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Shape} OperationSuccess
                     * @throws {Error} If the payload is not a reader or valid buffer
                     * @throws {$protobuf.util.ProtocolError} If required fields are missing
                     */
                    static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess & usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Shape;
                }

                namespace OperationSuccess {

                    /** Properties of an OperationSuccess. */
                    interface $Properties {

                        /** OperationSuccess registeredPath */
                        registeredPath?: (string|null);

                        /** Unknown fields preserved while decoding when enabled */
                        $unknowns?: Uint8Array[];
                    }

                    /** Shape of an OperationSuccess. */
                    type $Shape = usp.RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess.$Properties;
                }
            }
        }
    }

    /**
     * Properties of a Deregister.
     * @deprecated Use usp.Deregister.$Properties instead.
     */
    interface IDeregister extends usp.Deregister.$Properties {
    }

    /** Represents a Deregister. */
    class Deregister {

        /**
         * Constructs a new Deregister.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.Deregister.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** Deregister paths. */
        paths: string[];

        /**
         * Creates a new Deregister instance using the specified properties.
         * @param [properties] Properties to set
         * @returns Deregister instance
         */
        static create(properties: usp.Deregister.$Shape): usp.Deregister & usp.Deregister.$Shape;
        static create(properties?: usp.Deregister.$Properties): usp.Deregister;

        /**
         * Encodes the specified Deregister message. Does not implicitly {@link usp.Deregister.verify|verify} messages.
         * @param message Deregister message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.Deregister.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a Deregister message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.Deregister & usp.Deregister.$Shape} Deregister
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.Deregister & usp.Deregister.$Shape;
    }

    namespace Deregister {

        /** Properties of a Deregister. */
        interface $Properties {

            /** Deregister paths */
            paths?: (string[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a Deregister. */
        type $Shape = usp.Deregister.$Properties;
    }

    /**
     * Properties of a DeregisterResp.
     * @deprecated Use usp.DeregisterResp.$Properties instead.
     */
    interface IDeregisterResp extends usp.DeregisterResp.$Properties {
    }

    /** Represents a DeregisterResp. */
    class DeregisterResp {

        /**
         * Constructs a new DeregisterResp.
         * @param [properties] Properties to set
         */
        constructor(properties?: usp.DeregisterResp.$Properties);

        /** Unknown fields preserved while decoding when enabled */
        $unknowns?: Uint8Array[];

        /** DeregisterResp deregisteredPathResults. */
        deregisteredPathResults: usp.DeregisterResp.DeregisteredPathResult.$Properties[];

        /**
         * Creates a new DeregisterResp instance using the specified properties.
         * @param [properties] Properties to set
         * @returns DeregisterResp instance
         */
        static create(properties: usp.DeregisterResp.$Shape): usp.DeregisterResp & usp.DeregisterResp.$Shape;
        static create(properties?: usp.DeregisterResp.$Properties): usp.DeregisterResp;

        /**
         * Encodes the specified DeregisterResp message. Does not implicitly {@link usp.DeregisterResp.verify|verify} messages.
         * @param message DeregisterResp message or plain object to encode
         * @param [writer] Writer to encode to
         * @returns Writer
         */
        static encode(message: usp.DeregisterResp.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

        /**
         * Decodes a DeregisterResp message from the specified reader or buffer.
         * @param reader Reader or buffer to decode from
         * @param [length] Message length if known beforehand
         * @returns {usp.DeregisterResp & usp.DeregisterResp.$Shape} DeregisterResp
         * @throws {Error} If the payload is not a reader or valid buffer
         * @throws {$protobuf.util.ProtocolError} If required fields are missing
         */
        static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeregisterResp & usp.DeregisterResp.$Shape;
    }

    namespace DeregisterResp {

        /** Properties of a DeregisterResp. */
        interface $Properties {

            /** DeregisterResp deregisteredPathResults */
            deregisteredPathResults?: (usp.DeregisterResp.DeregisteredPathResult.$Properties[]|null);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];
        }

        /** Shape of a DeregisterResp. */
        type $Shape = {
          deregisteredPathResults?: usp.DeregisterResp.DeregisteredPathResult.$Shape[]|null;
          $unknowns?: Uint8Array[];
        };

        /**
         * Properties of a DeregisteredPathResult.
         * @deprecated Use usp.DeregisterResp.DeregisteredPathResult.$Properties instead.
         */
        interface IDeregisteredPathResult extends usp.DeregisterResp.DeregisteredPathResult.$Properties {
        }

        /** Represents a DeregisteredPathResult. */
        class DeregisteredPathResult {

            /**
             * Constructs a new DeregisteredPathResult.
             * @param [properties] Properties to set
             */
            constructor(properties?: usp.DeregisterResp.DeregisteredPathResult.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** DeregisteredPathResult requestedPath. */
            requestedPath: string;

            /** DeregisteredPathResult operStatus. */
            operStatus?: (usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Properties|null);

            /**
             * Creates a new DeregisteredPathResult instance using the specified properties.
             * @param [properties] Properties to set
             * @returns DeregisteredPathResult instance
             */
            static create(properties: usp.DeregisterResp.DeregisteredPathResult.$Shape): usp.DeregisterResp.DeregisteredPathResult & usp.DeregisterResp.DeregisteredPathResult.$Shape;
            static create(properties?: usp.DeregisterResp.DeregisteredPathResult.$Properties): usp.DeregisterResp.DeregisteredPathResult;

            /**
             * Encodes the specified DeregisteredPathResult message. Does not implicitly {@link usp.DeregisterResp.DeregisteredPathResult.verify|verify} messages.
             * @param message DeregisteredPathResult message or plain object to encode
             * @param [writer] Writer to encode to
             * @returns Writer
             */
            static encode(message: usp.DeregisterResp.DeregisteredPathResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a DeregisteredPathResult message from the specified reader or buffer.
             * @param reader Reader or buffer to decode from
             * @param [length] Message length if known beforehand
             * @returns {usp.DeregisterResp.DeregisteredPathResult & usp.DeregisterResp.DeregisteredPathResult.$Shape} DeregisteredPathResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeregisterResp.DeregisteredPathResult & usp.DeregisterResp.DeregisteredPathResult.$Shape;
        }

        namespace DeregisteredPathResult {

            /** Properties of a DeregisteredPathResult. */
            interface $Properties {

                /** DeregisteredPathResult requestedPath */
                requestedPath?: (string|null);

                /** DeregisteredPathResult operStatus */
                operStatus?: (usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Properties|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a DeregisteredPathResult. */
            type $Shape = {
              requestedPath?: string|null;
              operStatus?: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Shape|null;
              $unknowns?: Uint8Array[];
            };

            /**
             * Properties of an OperationStatus.
             * @deprecated Use usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Properties instead.
             */
            interface IOperationStatus extends usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Properties {
            }

            /** Represents an OperationStatus. */
            class OperationStatus {

                /**
                 * Constructs a new OperationStatus.
                 * @param [properties] Properties to set
                 */
                constructor(properties?: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Properties);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];

                /** OperationStatus operFailure. */
                operFailure?: (usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Properties|null);

                /** OperationStatus operSuccess. */
                operSuccess?: (usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Properties|null);

                /** OperationStatus operStatus. */
                operStatus?: ("operFailure"|"operSuccess");

                /**
                 * Creates a new OperationStatus instance using the specified properties.
                 * @param [properties] Properties to set
                 * @returns OperationStatus instance
                 */
                static create(properties: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Shape): usp.DeregisterResp.DeregisteredPathResult.OperationStatus & usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Shape;
                static create(properties?: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Properties): usp.DeregisterResp.DeregisteredPathResult.OperationStatus;

                /**
                 * Encodes the specified OperationStatus message. Does not implicitly {@link usp.DeregisterResp.DeregisteredPathResult.OperationStatus.verify|verify} messages.
                 * @param message OperationStatus message or plain object to encode
                 * @param [writer] Writer to encode to
                 * @returns Writer
                 */
                static encode(message: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                /**
                 * Decodes an OperationStatus message from the specified reader or buffer.
                 * @param reader Reader or buffer to decode from
                 * @param [length] Message length if known beforehand
                 * @returns {usp.DeregisterResp.DeregisteredPathResult.OperationStatus & usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Shape} OperationStatus
                 * @throws {Error} If the payload is not a reader or valid buffer
                 * @throws {$protobuf.util.ProtocolError} If required fields are missing
                 */
                static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeregisterResp.DeregisteredPathResult.OperationStatus & usp.DeregisterResp.DeregisteredPathResult.OperationStatus.$Shape;
            }

            namespace OperationStatus {

                /** Properties of an OperationStatus. */
                interface $Properties {

                    /** OperationStatus operFailure */
                    operFailure?: (usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Properties|null);

                    /** OperationStatus operSuccess */
                    operSuccess?: (usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Properties|null);

                    /** OperationStatus operStatus */
                    operStatus?: ("operFailure"|"operSuccess");

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];
                }

                /** Narrowed shape of an OperationStatus. */
                type $Shape = {
                  operFailure?: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Shape|null;
                  operSuccess?: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Shape|null;
                  $unknowns?: Uint8Array[];
                } & (
                  ({ operStatus?: undefined; operFailure?: null; operSuccess?: null }|{ operStatus?: "operFailure"; operFailure: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Shape; operSuccess?: null }|{ operStatus?: "operSuccess"; operFailure?: null; operSuccess: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Shape })
                );

                /**
                 * Properties of an OperationFailure.
                 * @deprecated Use usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Properties instead.
                 */
                interface IOperationFailure extends usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Properties {
                }

                /** Represents an OperationFailure. */
                class OperationFailure {

                    /**
                     * Constructs a new OperationFailure.
                     * @param [properties] Properties to set
                     */
                    constructor(properties?: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Properties);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];

                    /** OperationFailure errCode. */
                    errCode: number;

                    /** OperationFailure errMsg. */
                    errMsg: string;

                    /**
                     * Creates a new OperationFailure instance using the specified properties.
                     * @param [properties] Properties to set
                     * @returns OperationFailure instance
                     */
                    static create(properties: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Shape): usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure & usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Shape;
                    static create(properties?: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Properties): usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure;

                    /**
                     * Encodes the specified OperationFailure message. Does not implicitly {@link usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.verify|verify} messages.
                     * @param message OperationFailure message or plain object to encode
                     * @param [writer] Writer to encode to
                     * @returns Writer
                     */
                    static encode(message: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                    /**
                     * Decodes an OperationFailure message from the specified reader or buffer.
                     * @param reader Reader or buffer to decode from
                     * @param [length] Message length if known beforehand
                     * @returns {usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure & usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Shape} OperationFailure
                     * @throws {Error} If the payload is not a reader or valid buffer
                     * @throws {$protobuf.util.ProtocolError} If required fields are missing
                     */
                    static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure & usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Shape;
                }

                namespace OperationFailure {

                    /** Properties of an OperationFailure. */
                    interface $Properties {

                        /** OperationFailure errCode */
                        errCode?: (number|null);

                        /** OperationFailure errMsg */
                        errMsg?: (string|null);

                        /** Unknown fields preserved while decoding when enabled */
                        $unknowns?: Uint8Array[];
                    }

                    /** Shape of an OperationFailure. */
                    type $Shape = usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationFailure.$Properties;
                }

                /**
                 * Properties of an OperationSuccess.
                 * @deprecated Use usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Properties instead.
                 */
                interface IOperationSuccess extends usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Properties {
                }

                /** Represents an OperationSuccess. */
                class OperationSuccess {

                    /**
                     * Constructs a new OperationSuccess.
                     * @param [properties] Properties to set
                     */
                    constructor(properties?: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Properties);

                    /** Unknown fields preserved while decoding when enabled */
                    $unknowns?: Uint8Array[];

                    /** OperationSuccess deregisteredPath. */
                    deregisteredPath: string[];

                    /**
                     * Creates a new OperationSuccess instance using the specified properties.
                     * @param [properties] Properties to set
                     * @returns OperationSuccess instance
                     */
                    static create(properties: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Shape): usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess & usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Shape;
                    static create(properties?: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Properties): usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess;

                    /**
                     * Encodes the specified OperationSuccess message. Does not implicitly {@link usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.verify|verify} messages.
                     * @param message OperationSuccess message or plain object to encode
                     * @param [writer] Writer to encode to
                     * @returns Writer
                     */
                    static encode(message: usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;

                    /**
                     * Decodes an OperationSuccess message from the specified reader or buffer.
                     * @param reader Reader or buffer to decode from
                     * @param [length] Message length if known beforehand
                     * @returns {usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess & usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Shape} OperationSuccess
                     * @throws {Error} If the payload is not a reader or valid buffer
                     * @throws {$protobuf.util.ProtocolError} If required fields are missing
                     */
                    static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess & usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Shape;
                }

                namespace OperationSuccess {

                    /** Properties of an OperationSuccess. */
                    interface $Properties {

                        /** OperationSuccess deregisteredPath */
                        deregisteredPath?: (string[]|null);

                        /** Unknown fields preserved while decoding when enabled */
                        $unknowns?: Uint8Array[];
                    }

                    /** Shape of an OperationSuccess. */
                    type $Shape = usp.DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess.$Properties;
                }
            }
        }
    }
}
